"""What the proto promises and the engine does, side by side: the wall limit of a request that
sets none, Python's exit codes, compiler messages in the candidate's coordinates, and the
request bounds the proto states. Real engine, real nsjail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from real_engine import LocalEngine, assert_test, call_test, request

from crucible.sandbox_service.engine import EngineConfig
from crucible.sandbox_service.models import (
    MAX_SOURCE_BYTES,
    MAX_TEST_BYTES,
    MAX_TESTS,
    Limits,
    ResolvedLimits,
    Status,
)

PROTO = Path(__file__).resolve().parents[2] / "proto" / "crucible" / "sandbox" / "v1"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalEngine]:
    engine = LocalEngine("pooled")
    yield engine
    engine.close()


def test_an_unset_wall_limit_is_three_cpu_limits_plus_a_second(sandbox: LocalEngine) -> None:
    # The proto's rule, for a CPU limit the request gives and for the server's default one.
    given = sandbox.run(
        request("x = 1\n", assert_test("pass"), limits=Limits(cpu_time_limit_ms=500))
    )
    assert given.limits.wall_time_limit_ms == 3 * 500 + 1000
    default = sandbox.run(request("x = 1\n", assert_test("pass"), limits=Limits()))
    cpu = default.limits.cpu_time_limit_ms
    assert default.limits.wall_time_limit_ms == 3 * cpu + 1000


def test_a_default_wall_limit_that_breaks_the_rule_is_refused() -> None:
    limits = ResolvedLimits(
        cpu_time_limit_ms=1000,
        wall_time_limit_ms=13_000,
        memory_limit_bytes=256 << 20,
        output_limit_bytes=1 << 20,
    )
    with pytest.raises(ValidationError, match=r"must be 3 x cpu_time_limit_ms \+ 1000 = 4000"):
        EngineConfig(default_limits=limits)


def test_a_python_runtime_error_has_the_exit_code_the_program_would_have(
    sandbox: LocalEngine,
) -> None:
    source = "import sys\ndef f(x):\n    if x == 7:\n        sys.exit(7)\n    return 1 // x\n"
    raised, exited, passed = (
        sandbox.run(request(source, test)).tests[0]
        for test in (assert_test("f(0)"), call_test("f", [7], 1), call_test("f", [1], 1))
    )
    assert (raised.status, raised.exit_code) == (Status.RUNTIME_ERROR, 1)
    assert raised.error is not None and raised.error.type == "ZeroDivisionError"
    assert (exited.status, exited.exit_code) == (Status.RUNTIME_ERROR, 7)
    assert (passed.status, passed.exit_code) == (Status.PASSED, 0)


@pytest.mark.parametrize(
    ("prelude", "source", "message", "line"),
    [
        (
            "import os\n\n\n",
            "def f(x):\nreturn x\n",
            "expected an indented block after function definition on line 1",
            2,
        ),
        (
            "import os\n",
            "def f(x):\n    if x:\n    return 1\n",
            "expected an indented block after 'if' statement on line 2",
            3,
        ),
        (
            "def f():\n    if True:\n",
            "    return 1\n",
            "expected an indented block after 'if' statement on line 2 of the prelude",
            1,
        ),
    ],
)
def test_compiler_messages_quote_lines_as_error_line_does(
    sandbox: LocalEngine, prelude: str, source: str, message: str, line: int
) -> None:
    verdict = sandbox.run(request(source, assert_test("pass"), prelude=prelude))
    assert verdict.status is Status.COMPILE_ERROR and verdict.error is not None
    assert (verdict.error.type, verdict.error.message, verdict.error.line) == (
        "IndentationError",
        message,
        line,
    )


def test_the_proto_states_the_request_bounds_the_models_enforce() -> None:
    text = (PROTO / "sandbox.proto").read_text()
    comment = " ".join(re.sub(r"^\s*// ?", "", line) for line in text.splitlines())
    assert MAX_SOURCE_BYTES == 1 << 20 and f"{MAX_SOURCE_BYTES:,} bytes" in comment
    assert f"At most {MAX_TESTS:,} tests" in comment
    assert MAX_TEST_BYTES == 4 << 20 and "at most 4 Mi characters" in comment
