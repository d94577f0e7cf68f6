"""A request without tests runs the program once: its input in, its output, exit code, time,
memory and coverage out, with the limits and statuses of a stdio test. Real engine and real
nsjail, Python in both isolation modes and through a real gRPC server, C and Go compiled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from real_engine import LIMITS, LocalEngine, ServedEngine, stdio_test

from crucible.sandbox_service import wire
from crucible.sandbox_service.models import ExecuteRequest, ExecuteResponse, Status, TestResult

ECHO = (
    "import sys\n"
    "text = sys.stdin.read()\n"
    "print(text.upper(), end='')\n"
    "print('note', file=sys.stderr)\n"
)


def run(source: str, stdin: str = "", language: str = "python", **fields: object) -> ExecuteRequest:
    return ExecuteRequest(
        language=language, source=source, tests=[], stdin=stdin, limits=LIMITS, **fields
    )


def the_run(verdict: ExecuteResponse) -> TestResult:
    """The run's result, after checking the shape every run verdict has."""
    assert verdict.run is not None, verdict
    assert verdict.tests == [] and verdict.test_count == verdict.passed_count == 0
    assert verdict.pass_ratio == 0.0
    assert (verdict.status, verdict.error) == (verdict.run.status, verdict.run.error)
    assert verdict.run.checker is None and verdict.run.actual == verdict.run.expected == ""
    return verdict.run


@pytest.fixture(scope="module", params=["strict", "pooled"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[LocalEngine]:
    engine = LocalEngine(request.param)
    yield engine
    engine.close()


def test_a_run_returns_the_programs_output_exit_code_time_and_memory(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(run(ECHO, "hello\n"))
    result = the_run(verdict)
    assert verdict.status is Status.PASSED
    assert (result.stdout, result.stderr, result.exit_code) == ("HELLO\n", "note\n", 0)
    assert result.cpu_time_ms > 0 and result.peak_memory_bytes > 0
    assert verdict.cpu_time_ms == result.cpu_time_ms
    assert not verdict.coverage_collected


def test_an_exception_is_a_runtime_error_with_its_type_line_and_exit_code_1(
    sandbox: LocalEngine,
) -> None:
    source = "def f(x):\n    return 1 / x\nprint('before')\nf(0)\n"
    result = the_run(sandbox.run(run(source)))
    assert result.status is Status.RUNTIME_ERROR
    assert result.error is not None and (result.error.type, result.error.line) == (
        "ZeroDivisionError",
        2,
    )
    assert (result.stdout, result.exit_code) == ("before\n", 1)


def test_sys_exit_gives_its_code(sandbox: LocalEngine) -> None:
    failed = the_run(sandbox.run(run("import sys\nsys.exit(3)\n")))
    assert failed.status is Status.RUNTIME_ERROR and failed.exit_code == 3
    assert failed.error is not None and failed.error.type == "SystemExit"
    clean = the_run(sandbox.run(run("import sys\nprint(1)\nsys.exit(0)\n")))
    assert (clean.status, clean.exit_code, clean.stdout) == (Status.PASSED, 0, "1\n")


def test_a_run_has_the_limits_of_a_test(sandbox: LocalEngine) -> None:
    result = the_run(sandbox.run(run("while True:\n    pass\n")))
    assert result.status is Status.TIME_LIMIT_EXCEEDED


def test_a_run_collects_coverage_when_asked(sandbox: LocalEngine) -> None:
    source = "import sys\nif sys.stdin.read():\n    print('input')\nelse:\n    print('none')\n"
    verdict = sandbox.run(run(source, "x", collect_coverage=True))
    assert the_run(verdict).stdout == "input\n"
    assert (verdict.executed_lines, verdict.executable_lines) == ([1, 2, 3], [1, 2, 3, 5])


def test_a_run_that_does_not_compile_is_a_compile_error(sandbox: LocalEngine) -> None:
    result = the_run(sandbox.run(run("def f(:\n")))
    assert result.status is Status.COMPILE_ERROR
    assert result.error is not None and result.error.line == 1


def test_stdin_with_tests_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="stdin is the input of a run without tests"):
        ExecuteRequest(source="pass", tests=[stdio_test("1\n", "1\n")], stdin="1\n")


def test_a_run_through_the_server_arrives_whole() -> None:
    served = ServedEngine("pooled")
    try:
        verdict = served.run(run(ECHO, "over grpc\n"))
    finally:
        served.close()
    result = the_run(verdict)
    assert (result.stdout, result.stderr, result.exit_code) == ("OVER GRPC\n", "note\n", 0)
    message = wire.response_to_proto(verdict)
    assert message.HasField("run") and wire.response_from_proto(message) == verdict


C_DOUBLE = """#include <stdio.h>
int main(void) {
    int x;
    scanf("%d", &x);
    printf("%d\\n", 2 * x);
    fprintf(stderr, "note\\n");
    return x > 5 ? 4 : 0;
}
"""
GO_INDEX = """package main

import "fmt"

func main() {
\tvar values []int
\tfmt.Println("before")
\tfmt.Println(values[3])
}
"""


@pytest.mark.slow
def test_compiled_programs_run_once() -> None:
    engine = LocalEngine("strict")
    try:
        ok, exited, panicked = engine.run_all(
            [
                run(C_DOUBLE, "3\n", "c", collect_coverage=True),
                run(C_DOUBLE, "7\n", "c"),
                run(GO_INDEX, "", "go"),
            ]
        )
    finally:
        engine.close()
    result = the_run(ok)
    assert (result.status, result.stdout, result.stderr, result.exit_code) == (
        Status.PASSED,
        "6\n",
        "note\n",
        0,
    )
    assert ok.coverage_collected and ok.executed_lines == [2, 4, 5, 6, 7]
    result = the_run(exited)
    assert (result.status, result.stdout, result.exit_code) == (Status.RUNTIME_ERROR, "14\n", 4)
    assert result.error is not None and result.error.type == "Exit"
    result = the_run(panicked)
    assert (result.status, result.stdout) == (Status.RUNTIME_ERROR, "before\n")
    assert result.error is not None and (result.error.type, result.error.line) == (
        "runtime.Error",
        8,
    )
    assert result.exit_code == 2
