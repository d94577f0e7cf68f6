"""Every verdict status reached by a real program, through a real gRPC server on 127.0.0.1 and
the real engine (real nsjail), in both isolation modes; program-level precedence, pass_ratio
over all tests, stop-at-first-failure, and the verdict's totals."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from real_engine import LIMITS, ServedEngine, assert_test, call_test, request, stdio_test

from crucible.sandbox_service.models import IsolationMode, Limits, Status, Subtype

ADD = "def add(a, b):\n    return a + b\n"


@pytest.fixture(scope="module", params=["strict", "pooled"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[ServedEngine]:
    served = ServedEngine(request.param)
    yield served
    served.close()


def test_passed_fills_every_field(sandbox: ServedEngine) -> None:
    source = ADD + "if __name__ == '__main__':\n    print(add(*map(int, input().split())))\n"
    verdict = sandbox.run(
        request(
            source,
            assert_test("assert add(1, 2) == 3", name="assert"),
            call_test("add", [2, 3], 5),
            stdio_test("4 5\n", "9\n"),
        )
    )
    assert verdict.status is Status.PASSED
    assert (verdict.pass_ratio, verdict.passed_count, verdict.test_count) == (1.0, 3, 3)
    assert verdict.error is None
    assert [test.status for test in verdict.tests] == [Status.PASSED] * 3
    assert verdict.tests[0].name == "assert"
    assert verdict.tests[2].stdout == "9\n"
    assert verdict.isolation is IsolationMode(sandbox.isolation.upper())
    assert verdict.limits.cpu_time_limit_ms == LIMITS.cpu_time_limit_ms
    assert verdict.runtime.startswith("CPython 3.")
    # Totals: CPU summed over tests, peak memory the largest test's.
    assert verdict.cpu_time_ms == pytest.approx(sum(t.cpu_time_ms for t in verdict.tests))
    assert verdict.peak_memory_bytes == max(t.peak_memory_bytes for t in verdict.tests) > 0
    assert all(t.wall_time_ms > 0 and t.cpu_time_ms > 0 for t in verdict.tests)
    assert verdict.wall_time_ms > 0


def test_wrong_answer(sandbox: ServedEngine) -> None:
    verdict = sandbox.run(
        request("def add(a, b):\n    return a - b\n", assert_test("assert add(1, 2) == 3"))
    )
    assert verdict.status is Status.WRONG_ANSWER
    assert verdict.error is not None
    assert (verdict.error.type, verdict.error.subtype, verdict.error.test_index) == (
        "AssertionError",
        Subtype.IGNORE,
        0,
    )


def test_runtime_error(sandbox: ServedEngine) -> None:
    verdict = sandbox.run(request("def add(a, b):\n    return a / 0\n", assert_test("add(1, 2)")))
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.error is not None
    assert (verdict.error.type, verdict.error.line) == ("ZeroDivisionError", 2)
    assert verdict.error.message == "division by zero"


def test_compile_error_marks_every_test(sandbox: ServedEngine) -> None:
    verdict = sandbox.run(
        request("def add(a, b)\n    return a + b\n", assert_test("pass"), assert_test("pass"))
    )
    assert verdict.status is Status.COMPILE_ERROR
    assert [test.status for test in verdict.tests] == [Status.COMPILE_ERROR] * 2
    assert verdict.pass_ratio == 0.0
    assert verdict.error is not None
    assert (verdict.error.type, verdict.error.line) == ("SyntaxError", 1)


def test_cpu_time_limit(sandbox: ServedEngine) -> None:
    # The wall-clock backstop far beyond the CPU limit: a busy host cannot reach it first.
    limits = LIMITS.model_copy(update={"wall_time_limit_ms": 20_000.0})
    verdict = sandbox.run(request("while True:\n    pass\n", assert_test("pass"), limits=limits))
    assert verdict.status is Status.TIME_LIMIT_EXCEEDED
    assert verdict.error is not None
    assert verdict.error.subtype is Subtype.GLOBAL
    assert "CPU time limit of 1 s" in verdict.error.message
    # Decided by CPU time: the CPU timer's signal ended it, not the wall clock.
    assert verdict.tests[0].exit_code in (-signal.SIGPROF, -signal.SIGXCPU)


def test_wall_clock_backstop_ends_a_sleeping_program(sandbox: ServedEngine) -> None:
    verdict = sandbox.run(request("import time\ntime.sleep(60)\n", assert_test("pass")))
    assert verdict.status is Status.TIME_LIMIT_EXCEEDED
    assert verdict.error is not None
    assert "wall-clock backstop of 3 s" in verdict.error.message


def test_memory_limit(sandbox: ServedEngine) -> None:
    limits = LIMITS.model_copy(update={"memory_limit_bytes": 64 << 20})
    verdict = sandbox.run(request("hog = b'x' * (512 << 20)\n", assert_test("pass"), limits=limits))
    assert verdict.status is Status.MEMORY_LIMIT_EXCEEDED
    assert verdict.error is not None
    assert verdict.error.message == "exceeded the memory limit of 64 MiB"


def test_memory_limit_by_the_oom_killer(sandbox: ServedEngine) -> None:
    limits = LIMITS.model_copy(update={"memory_limit_bytes": 64 << 20})
    source = "chunks = []\nwhile True:\n    chunks.append(b'x' * (1 << 20))\n"
    verdict = sandbox.run(request(source, assert_test("pass"), limits=limits))
    assert verdict.status is Status.MEMORY_LIMIT_EXCEEDED
    assert verdict.tests[0].exit_code == -9
    assert verdict.tests[0].peak_memory_bytes >= 32 << 20


def test_a_test_that_ends_above_the_memory_limit_exceeded_it(sandbox: ServedEngine) -> None:
    # The jail's cgroup leaves the harness room above the limit, so 100 MiB fits in it with a
    # 64 MiB limit; the verdict still follows the request's limit, the interpreter included.
    limits = LIMITS.model_copy(update={"memory_limit_bytes": 64 << 20})
    tests = [assert_test("assert len(blob) > 0")]
    small, large = (
        sandbox.run(request(f"blob = bytearray({mib} << 20)\n", *tests, limits=limits))
        for mib in (24, 100)
    )
    assert small.status is Status.PASSED
    assert large.status is Status.MEMORY_LIMIT_EXCEEDED
    assert large.tests[0].peak_memory_bytes > 64 << 20


def test_memory_is_decided_before_cpu_time(sandbox: ServedEngine) -> None:
    # Filling memory up to the OOM kill costs CPU time too (more on a busy host), so a program
    # can exceed both limits; the verdict must then be the memory limit. The program exceeds both
    # for certain, in a fixed order whatever the host's load: it holds 100 MiB (above the 64 MiB
    # limit, within the room the jail's cgroup leaves) and then spins until the CPU timer ends it.
    # The wall-clock backstop is far beyond the CPU limit, so a busy host cannot reach it first.
    limits = LIMITS.model_copy(
        update={
            "memory_limit_bytes": 64 << 20,
            "cpu_time_limit_ms": 500.0,
            "wall_time_limit_ms": 20_000.0,
        }
    )
    source = "blob = b'x' * (100 << 20)\nwhile True:\n    pass\n"
    verdict = sandbox.run(request(source, assert_test("pass"), limits=limits))
    assert verdict.status is Status.MEMORY_LIMIT_EXCEEDED, verdict.error
    # Both limits were exceeded: the CPU timer's signal ended it, above the memory limit.
    assert verdict.tests[0].exit_code in (-signal.SIGPROF, -signal.SIGXCPU)
    assert verdict.tests[0].peak_memory_bytes > 64 << 20


def test_output_limit(sandbox: ServedEngine) -> None:
    limits = Limits(cpu_time_limit_ms=1000, wall_time_limit_ms=3000, output_limit_bytes=64 << 10)
    verdict = sandbox.run(
        request("while True:\n    print('x' * 100)\n", assert_test("pass"), limits=limits)
    )
    assert verdict.status is Status.OUTPUT_LIMIT_EXCEEDED
    assert verdict.tests[0].stdout_truncated
    assert len(verdict.tests[0].stdout.encode()) <= 64 << 10


def test_sandbox_error_when_the_program_gets_the_harness_killed(sandbox: ServedEngine) -> None:
    """Memory no process owns (tmpfs pages, pipe buffers) fills the jail's cgroup, and the OOM
    killer picks the harness: the sandbox failed, the verdict says so (docs/security.md)."""
    source = (
        "import fcntl, os\n"
        "block = b'm' * (1 << 20)\n"
        "try:\n"
        "    for number in range(64):\n"
        "        with open(f'/tmp/fill-{number}', 'wb') as handle:\n"
        "            handle.write(block)\n"
        "except OSError:\n"
        "    pass\n"
        "pipes = []\n"
        "while True:\n"
        "    read_end, write_end = os.pipe()\n"
        "    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)\n"
        "    os.set_blocking(write_end, False)\n"
        "    try:\n"
        "        while True:\n"
        "            os.write(write_end, block)\n"
        "    except BlockingIOError:\n"
        "        pipes.append((read_end, write_end))\n"
    )
    limits = LIMITS.model_copy(update={"memory_limit_bytes": 16 << 20})
    verdict = sandbox.run(request(source, assert_test("pass"), limits=limits))
    assert verdict.status is Status.SANDBOX_ERROR
    assert verdict.error is not None
    assert verdict.error.type == "SandboxError" and "harness" in verdict.error.message
    after = sandbox.run(request(ADD, assert_test("assert add(1, 2) == 3")))
    assert after.status is Status.PASSED


PASS, FAIL, CRASH, LOOP = (
    "assert add(1, 2) == 3",
    "assert add(1, 2) == 4",
    "add(None, 1)",
    "while True:\n    pass",
)


@pytest.mark.parametrize(
    ("tests", "status", "ratio", "deciding"),
    [
        ([PASS, FAIL, CRASH, PASS], Status.RUNTIME_ERROR, 0.5, 2),
        ([PASS, FAIL, PASS, PASS], Status.WRONG_ANSWER, 0.75, 1),
        ([FAIL, LOOP, PASS], Status.TIME_LIMIT_EXCEEDED, 1 / 3, 1),
        ([LOOP, CRASH, PASS], Status.TIME_LIMIT_EXCEEDED, 1 / 3, 0),
        ([CRASH, LOOP, PASS], Status.RUNTIME_ERROR, 1 / 3, 0),
    ],
    ids=[
        "runtime-error-beats-wrong",
        "ratio-over-all-tests",
        "timeout-beats-wrong",
        "first-abnormal-decides",
        "first-abnormal-decides-2",
    ],
)
def test_program_status_precedence_and_pass_ratio(
    sandbox: ServedEngine, tests: list[str], status: Status, ratio: float, deciding: int
) -> None:
    verdict = sandbox.run(request(ADD, *(assert_test(code) for code in tests)))
    assert verdict.status is status
    assert verdict.pass_ratio == pytest.approx(ratio)
    assert verdict.test_count == len(tests)
    assert verdict.error is not None and verdict.error.test_index == deciding
    assert Status.SKIPPED not in {test.status for test in verdict.tests}


def test_compile_error_beats_every_other_outcome(sandbox: ServedEngine) -> None:
    verdict = sandbox.run(request(ADD + "x = (\n", assert_test(PASS), assert_test(LOOP)))
    assert verdict.status is Status.COMPILE_ERROR
    assert verdict.pass_ratio == 0.0


def test_stop_on_first_failure_skips_the_rest_only_when_asked(sandbox: ServedEngine) -> None:
    tests = [assert_test(PASS), assert_test(FAIL), assert_test(PASS)]
    stopped = sandbox.run(request(ADD, *tests, stop_on_first_failure=True))
    assert [test.status for test in stopped.tests] == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.SKIPPED,
    ]
    assert (stopped.status, stopped.passed_count) == (Status.WRONG_ANSWER, 1)
    assert stopped.pass_ratio == pytest.approx(1 / 3)
    full = sandbox.run(request(ADD, *tests))
    assert [test.status for test in full.tests] == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
    ]
    assert full.pass_ratio == pytest.approx(2 / 3)
