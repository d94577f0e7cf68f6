"""Determinism: a fixed set of 200 mixed programs (passing, wrong, erroring, failing to compile,
over the memory or output limit, looping well under and well over a short CPU limit) run 10 times
through a real server while a spinning process keeps a core busy; every run gives every program
the same status, and that status is the one it deserves.

Time limits are CPU time, so a busy host must not flip a verdict. The loops are sized from this
machine's own speed (measured here, before the spinner starts): 0.2 s and 1.5 s of CPU against a
0.5 s limit.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from live_server import busy_core, live_server

from crucible.sandbox_service.client import SandboxClient
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    ExecuteRequest,
    Limits,
    StdioTest,
    TestBody,
)
from crucible.sandbox_service.models import TestCase as Case

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

ROUNDS = 10
LIMITS = Limits(
    cpu_time_limit_ms=500,
    wall_time_limit_ms=20_000,  # a backstop only: CPU time decides
    memory_limit_bytes=64 << 20,
    output_limit_bytes=8 << 10,
)
LOOP = "total = 0\nfor i in range({n}):\n    total += i\n"
RUNTIME_ERRORS = [
    ("return x // 0", "ZeroDivisionError"),
    ("return [1, 2][x + 5]", "IndexError"),
    ("return {'a': 1}[str(x)]", "KeyError"),
    ("return undefined_name + x", "NameError"),
    ("return 'a' + x", "TypeError"),
    ("return int('not a number')", "ValueError"),
    ("return f(x + 1)", "RecursionError"),
]


def loop_iterations(cpu_seconds: float) -> int:
    """How many iterations of LOOP take ``cpu_seconds`` of CPU in this interpreter."""
    probe = 2_000_000
    code = compile(LOOP.format(n=probe), "<probe>", "exec")
    started = time.process_time()
    exec(code, {})
    per_iteration = (time.process_time() - started) / probe
    return int(cpu_seconds / per_iteration)


def request(request_id: str, source: str, body: TestBody) -> ExecuteRequest:
    return ExecuteRequest(
        request_id=request_id, source=source, tests=[Case(body=body)], limits=LIMITS
    )


def programs() -> list[tuple[ExecuteRequest, str]]:
    """The fixed 200 programs and the status each deserves."""
    out: list[tuple[ExecuteRequest, str]] = []

    def add(source: str, body: TestBody, status: str) -> None:
        out.append((request(f"p{len(out)}", source, body), status))

    for k in range(60):
        add(
            f"def f(x):\n    return x * {k}\n", AssertTest(code=f"assert f(3) == {3 * k}"), "PASSED"
        )
    for k in range(20):
        add(
            "print(sum(int(w) for w in input().split()))\n",
            StdioTest(stdin=f"{k} {k + 1}\n", expected_stdout=f"{2 * k + 1}\n"),
            "PASSED",
        )
    for k in range(16):
        add(
            f"def f(a, b):\n    return [a + b, {k}]\n",
            CallTest(function_name="f", args_json=f"[{k}, 1]", expected_json=f"[{k + 1}, {k}]"),
            "PASSED",
        )
    for k in range(30):
        add(
            f"def f(x):\n    return x * {k}\n",
            AssertTest(code=f"assert f(3) == {3 * k + 1}"),
            "WRONG_ANSWER",
        )
    for k in range(10):
        add(f"print({k})\n", StdioTest(expected_stdout=f"{k + 1}\n"), "WRONG_ANSWER")
    for k in range(5):
        add(
            f"def f():\n    return {k}\n",
            CallTest(function_name="f", expected_json=str(k - 1)),
            "WRONG_ANSWER",
        )
    for k in range(35):
        statement, _ = RUNTIME_ERRORS[k % len(RUNTIME_ERRORS)]
        add(
            f"def f(x):\n    {statement}\n", AssertTest(code=f"assert f({k}) == 0"), "RUNTIME_ERROR"
        )
    for k in range(10):
        add(f"def f(x):\n    return x +* {k}\n", AssertTest(code="assert True"), "COMPILE_ERROR")
    for k in range(4):
        add(
            f"blob = b'{k}' * (512 << 20)\n",
            AssertTest(code="assert True"),
            "MEMORY_LIMIT_EXCEEDED",
        )
    for k in range(4):
        add(f"print('{k}' * 100_000)\n", AssertTest(code="assert True"), "OUTPUT_LIMIT_EXCEEDED")
    under, over = loop_iterations(0.2), loop_iterations(1.5)
    for k in range(3):
        add(LOOP.format(n=under + k), AssertTest(code="assert total > 0"), "PASSED")
    for k in range(3):
        add(LOOP.format(n=over + k), AssertTest(code="assert total > 0"), "TIME_LIMIT_EXCEEDED")
    return out


def test_statuses_do_not_change_with_a_busy_core(tmp_path: Path) -> None:
    fixed = programs()
    assert len(fixed) == 200
    expected = {req.request_id: status for req, status in fixed}
    rounds: list[dict[str, str]] = []
    with live_server(tmp_path, workers=2) as server, busy_core():
        server.wait_pool_idle()
        with SandboxClient(server.address) as client:
            for _ in range(ROUNDS):
                verdicts = client.execute_many((req for req, _ in fixed), timeout=300)
                rounds.append({v.request_id: v.status.value for v in verdicts})
    first = rounds[0]
    for index, statuses in enumerate(rounds):
        assert set(statuses) == set(expected), f"round {index} lost requests"
        flipped = {
            rid: (first[rid], status) for rid, status in statuses.items() if status != first[rid]
        }
        assert not flipped, f"round {index} differs from round 0: {flipped}"
    wrong = {
        rid: (status, expected[rid]) for rid, status in first.items() if status != expected[rid]
    }
    assert not wrong, f"(got, deserved): {wrong}; totals {Counter(first.values())}"
