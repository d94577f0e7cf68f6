"""The one pure function from per-test results to a program verdict.

Precedence (methods.md): sandbox failure > compile error > runtime error / time / memory / output
limit (the first such test in request order decides) > wrong answer > passed. ``pass_ratio`` is
over all tests, skipped ones counting as not passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crucible.sandbox_service.models import (
    ErrorInfo,
    ExecuteResponse,
    IsolationMode,
    ResolvedLimits,
    Status,
    TestResult,
)

_ABNORMAL = frozenset(
    {
        Status.RUNTIME_ERROR,
        Status.TIME_LIMIT_EXCEEDED,
        Status.MEMORY_LIMIT_EXCEEDED,
        Status.OUTPUT_LIMIT_EXCEEDED,
    }
)


def program_status(tests: list[TestResult]) -> tuple[Status, ErrorInfo | None]:
    """Program status and the error that decided it."""
    for wanted in (Status.SANDBOX_ERROR, Status.COMPILE_ERROR):
        for test in tests:
            if test.status is wanted:
                return wanted, test.error
    for test in tests:
        if test.status in _ABNORMAL:
            return test.status, test.error
    for test in tests:
        if test.status is Status.WRONG_ANSWER:
            return Status.WRONG_ANSWER, test.error
    if any(test.status is Status.SKIPPED for test in tests):
        return Status.WRONG_ANSWER, None
    return Status.PASSED, None


@dataclass(frozen=True)
class LineCoverage:
    """A program's coverage in the candidate's coordinates (union over tests). ``executable``
    stays empty for languages whose coverage tool does not know which lines could run."""

    executed: set[int]
    executable: set[int] = field(default_factory=set)


def build_response(
    *,
    request_id: str,
    tests: list[TestResult],
    coverage: LineCoverage | None,
    wall_time_ms: float,
    isolation: IsolationMode,
    limits: ResolvedLimits,
    runtime: str,
) -> ExecuteResponse:
    """Summarise per-test results into the response sent to the caller."""
    status, error = program_status(tests)
    passed = sum(test.status is Status.PASSED for test in tests)
    return ExecuteResponse(
        request_id=request_id,
        status=status,
        pass_ratio=passed / len(tests) if tests else 0.0,
        passed_count=passed,
        test_count=len(tests),
        tests=tests,
        error=error,
        executed_lines=sorted(coverage.executed) if coverage else [],
        executable_lines=sorted(coverage.executable) if coverage else [],
        coverage_collected=coverage is not None,
        cpu_time_ms=sum(test.cpu_time_ms for test in tests),
        wall_time_ms=wall_time_ms,
        peak_memory_bytes=max((test.peak_memory_bytes for test in tests), default=0),
        isolation=isolation,
        limits=limits,
        runtime=runtime,
    )


def run_response(response: ExecuteResponse) -> ExecuteResponse:
    """The verdict on a request without tests, executed as its one :class:`ProgramRun`, in the
    contract's shape: the run's result in ``run``, its status and error the program's, and the
    test counts over no tests."""
    (run,) = response.tests
    return response.model_copy(
        update={
            "run": run,
            "tests": [],
            "status": run.status,
            "error": run.error,
            "test_count": 0,
            "passed_count": 0,
            "pass_ratio": 0.0,
        }
    )


def uniform_results(
    count: int, status: Status, error: ErrorInfo | None, names: list[str]
) -> list[TestResult]:
    """Every test with the same outcome: compile errors and sandbox failures, which happen
    before any test could run."""
    return [
        TestResult(index=index, name=names[index], status=status, error=error)
        for index in range(count)
    ]
