"""ExecuteRequest.tests_share_process through a real gRPC server on 127.0.0.1 and the real
engine (real nsjail), in both isolation modes: verdicts equal to a process per test on programs
that pass, fail, raise, crash, exit and time out; the documented trade-off (state of one test
seen by the next) shown, and absent by default; a test that ends the process followed by a
fresh one; bad input refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from real_engine import ServedEngine, assert_test, call_test, request, stdio_test

from crucible.sandbox_service.client import SandboxError
from crucible.sandbox_service.models import ExecuteResponse, Status, TestCase, TestResult

# Function names say what a call does: passes, answers wrongly, raises, crashes the process,
# exits it, or spins until the CPU limit; `count` counts its calls in a module global.
PROGRAM = """\
import os
import sys
calls = []
def add(a, b):
    return a + b
def sub(a, b):
    return a + b
def div(a):
    return 1 / a
def crash():
    os.abort()
def leave():
    os._exit(3)
def stop():
    sys.exit(4)
def spin():
    while True:
        pass
def count():
    calls.append(1)
    return len(calls)
if __name__ == "__main__":
    a, b = map(int, input().split())
    print(add(a, b))
    print("to stderr", file=sys.stderr)
"""

MIXED_TESTS = [
    assert_test("assert add(1, 2) == 3"),
    call_test("add", [2, 3], 5),
    stdio_test("4 5\n", "9\n"),
    assert_test("assert sub(3, 1) == 2"),
    call_test("sub", [3, 1], 2),
    stdio_test("1 1\n", "3\n"),
    call_test("div", [0], 0),
    assert_test("crash()"),
    call_test("add", [1, 1], 2),
    assert_test("leave()"),
    assert_test("stop()"),
    call_test("spin", [], 0),
    stdio_test("7 8\n", "15\n"),
]


@pytest.fixture(scope="module", params=["strict", "pooled"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[ServedEngine]:
    served = ServedEngine(request.param)
    yield served
    served.close()


def both_modes(
    sandbox: ServedEngine, source: str, tests: list[TestCase], **fields: Any
) -> tuple[ExecuteResponse, ExecuteResponse]:
    """The verdicts of a process per test and of one shared process."""
    forked = sandbox.run(request(source, *tests, **fields))
    shared = sandbox.run(request(source, *tests, tests_share_process=True, **fields))
    return forked, shared


def verdict_fields(result: TestResult) -> tuple[Any, ...]:
    """Everything in a test result but measurements (times, memory)."""
    error = result.error
    return (
        result.index,
        result.status,
        result.stdout,
        result.stderr,
        result.actual,
        result.expected,
        result.exit_code,
        None if error is None else error.model_dump(),
    )


def test_verdicts_equal_a_process_per_test(sandbox: ServedEngine) -> None:
    forked, shared = both_modes(sandbox, PROGRAM, MIXED_TESTS)
    assert [verdict_fields(t) for t in shared.tests] == [verdict_fields(t) for t in forked.tests]
    assert [t.status for t in shared.tests] == [
        *[Status.PASSED] * 3,
        *[Status.WRONG_ANSWER] * 3,
        Status.RUNTIME_ERROR,
        Status.RUNTIME_ERROR,
        Status.PASSED,
        Status.RUNTIME_ERROR,
        Status.RUNTIME_ERROR,
        Status.TIME_LIMIT_EXCEEDED,
        Status.PASSED,
    ]
    assert shared.tests[6].error is not None and shared.tests[6].error.line == 9
    assert shared.tests[7].exit_code == -6  # SIGABRT
    assert (shared.tests[9].exit_code, shared.tests[10].exit_code) == (3, 4)
    assert shared.tests[2].stdout == "9\n" and shared.tests[2].stderr == "to stderr\n"
    for result in shared.tests:
        assert result.cpu_time_ms > 0 and result.wall_time_ms > 0
        assert result.peak_memory_bytes > 0
    assert shared.status == forked.status == Status.RUNTIME_ERROR
    assert shared.cpu_time_ms == pytest.approx(sum(t.cpu_time_ms for t in shared.tests))


def test_a_program_that_fails_to_load_fails_every_test_alike(sandbox: ServedEngine) -> None:
    source = "import sys\nraise ValueError('no ' + str(len(sys.argv)))\ndef f():\n    return 1\n"
    tests = [call_test("f", [], 1), assert_test("assert f() == 1"), stdio_test("", "")]
    forked, shared = both_modes(sandbox, source, tests)
    assert [verdict_fields(t) for t in shared.tests] == [verdict_fields(t) for t in forked.tests]
    assert [t.error and (t.error.type, t.error.line) for t in shared.tests] == [
        ("ValueError", 2)
    ] * 3


def test_compile_error_and_coverage_are_the_same(sandbox: ServedEngine) -> None:
    forked, shared = both_modes(sandbox, "def f(:\n  pass\n", [call_test("f", [], 1)] * 2)
    assert shared.status == forked.status == Status.COMPILE_ERROR
    assert shared.error == forked.error
    tests = [call_test("add", [1, 2], 3), stdio_test("1 2\n", "3\n"), call_test("count", [], 1)]
    forked, shared = both_modes(sandbox, PROGRAM, tests, collect_coverage=True)
    assert shared.executed_lines == forked.executed_lines
    assert shared.executable_lines == forked.executable_lines
    assert 5 in shared.executed_lines and 25 in shared.executed_lines  # add's body, print


def test_state_is_shared_between_tests_only_when_asked(sandbox: ServedEngine) -> None:
    # The documented trade-off: a module global, a patched module and a file in /tmp left by
    # one test are seen by the next in one process, never with a process per test.
    tests = [
        call_test("count", [], 1),
        call_test("count", [], 1),
        assert_test("import colorsys\ncolorsys.crucible_mark = 1\nopen('left', 'w').write('x')"),
        assert_test("import colorsys\nassert not hasattr(colorsys, 'crucible_mark')"),
        assert_test("import os\nassert not os.path.exists('left')"),
    ]
    forked, shared = both_modes(sandbox, PROGRAM, tests)
    assert [t.status for t in forked.tests] == [Status.PASSED] * 5
    assert [t.status for t in shared.tests] == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.WRONG_ANSWER,
    ]
    assert shared.tests[1].actual == "2"
    # Requests stay apart: the next request's shared process starts afresh.
    again = sandbox.run(request(PROGRAM, *tests, tests_share_process=True))
    assert [verdict_fields(t) for t in again.tests] == [verdict_fields(t) for t in shared.tests]


def test_a_timeout_ends_the_process_and_the_next_test_gets_a_fresh_one(
    sandbox: ServedEngine,
) -> None:
    tests = [call_test("count", [], 1), call_test("count", [], 2), assert_test("spin()")]
    tests += [call_test("count", [], 1), call_test("count", [], 2)]
    forked, shared = both_modes(sandbox, PROGRAM, tests)
    assert [t.status for t in shared.tests] == [
        Status.PASSED,
        Status.PASSED,
        Status.TIME_LIMIT_EXCEEDED,
        Status.PASSED,
        Status.PASSED,
    ]
    timed_out = shared.tests[2]
    assert timed_out.error is not None and timed_out.error.type == "TimeLimitExceeded"
    # The CPU limit stops the spin, unless the machine is so loaded that the spin gets under a
    # third of a core and the wall-clock backstop comes first; the message
    # names which limit it was, and that limit was reached.
    if "wall-clock backstop" in timed_out.error.message:
        assert timed_out.wall_time_ms >= shared.limits.wall_time_limit_ms
    else:
        assert "CPU time limit" in timed_out.error.message
        assert timed_out.cpu_time_ms >= shared.limits.cpu_time_limit_ms
    assert all(t.cpu_time_ms < shared.limits.cpu_time_limit_ms for t in shared.tests[3:])
    assert [t.status for t in forked.tests] == [
        Status.PASSED,
        Status.WRONG_ANSWER,  # count() is 1 in a process of its own
        Status.TIME_LIMIT_EXCEEDED,
        Status.PASSED,
        Status.WRONG_ANSWER,
    ]


def test_each_test_has_its_own_limits_and_output(sandbox: ServedEngine) -> None:
    # Three tests that each use most of the CPU limit pass: the limit is per test, not shared.
    source = "import time\ndef burn():\n    end = time.process_time() + 0.6\n"
    source += "    while time.process_time() < end:\n        pass\n    print('burnt')\n"
    verdict = sandbox.run(request(source, *[assert_test("burn()")] * 3, tests_share_process=True))
    assert [t.status for t in verdict.tests] == [Status.PASSED] * 3
    assert [t.stdout for t in verdict.tests] == ["burnt\n"] * 3
    assert all(t.cpu_time_ms >= 600 for t in verdict.tests)


def test_stop_on_first_failure_ends_the_shared_process(sandbox: ServedEngine) -> None:
    tests = [call_test("add", [1, 2], 3), call_test("sub", [3, 1], 2), call_test("add", [0, 0], 0)]
    forked, shared = both_modes(sandbox, PROGRAM, tests, stop_on_first_failure=True)
    assert [t.status for t in shared.tests] == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.SKIPPED,
    ]
    assert [verdict_fields(t) for t in shared.tests] == [verdict_fields(t) for t in forked.tests]


def test_other_languages_refuse_the_option(sandbox: ServedEngine) -> None:
    # gcc is installed by `make setup`, as every toolchain of the native corpus is
    assert "c" in {lang.name for lang in sandbox.engine.languages()}
    with pytest.raises(SandboxError) as raised:
        sandbox.run(
            request("int main(){}", stdio_test("", ""), language="c", tests_share_process=True)
        )
    assert raised.value.code == "INVALID_ARGUMENT"
    assert "tests_share_process is supported for python only" in raised.value.message
