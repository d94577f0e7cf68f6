"""CYCLE feedback strings built from hand-made verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from crucible.evaluation.feedback import comment_out, execution_feedback
from crucible.evaluation.tasks import Example, Task
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    ErrorInfo,
    ExecuteResponse,
    IsolationMode,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
    TestBody,
)
from crucible.sandbox_service.models import TestCase as Case
from crucible.sandbox_service.models import TestResult as Result

LIMITS = ResolvedLimits(
    cpu_time_limit_ms=4000,
    wall_time_limit_ms=13000,
    memory_limit_bytes=512 << 20,
    output_limit_bytes=8 << 20,
)


def task_with(*bodies: TestBody, examples: list[Example] | None = None) -> Task:
    return Task(
        task_id="t/1",
        source="unit",
        split="test",
        prompt="Write add.",
        layout="completion_only",
        entry_point="add",
        canonical_solution="def add(a, b):\n    return a + b\n",
        tests=[Case(name=f"t{i}", body=body) for i, body in enumerate(bodies)],
        examples=examples or [],
    )


def verdict(*results: Result, status: Status, error: ErrorInfo | None = None) -> ExecuteResponse:
    passed = sum(result.status == Status.PASSED for result in results)
    return ExecuteResponse(
        status=status,
        pass_ratio=passed / len(results),
        passed_count=passed,
        test_count=len(results),
        tests=list(results),
        error=error,
        isolation=IsolationMode.STRICT,
        limits=LIMITS,
    )


def result(index: int, status: Status, **fields: Any) -> Result:
    return Result(index=index, status=status, **fields)


CALL = CallTest(function_name="add", args_json="[1, [2, 3]]", expected_json='"x"')
ASSERT = AssertTest(code="assert add(1, 2) == 3\n")


def test_wrong_answer_of_a_call_test_shows_input_expected_and_actual() -> None:
    response = verdict(
        result(0, Status.PASSED),
        result(1, Status.WRONG_ANSWER, actual="[1, null]", expected='"x"'),
        status=Status.WRONG_ANSWER,
    )
    feedback = execution_feedback(task_with(ASSERT, CALL), response)
    assert feedback == (
        "Test Case Failed: Input: add(1, [2, 3]), Expected output: 'x', Actual output: [1, None]"
    )


def test_runtime_error_shows_the_exception() -> None:
    error = ErrorInfo(
        type="ZeroDivisionError", message="division by zero", line=2, subtype=Subtype.LINE
    )
    response = verdict(
        result(0, Status.RUNTIME_ERROR, error=error), status=Status.RUNTIME_ERROR, error=error
    )
    assert execution_feedback(task_with(CALL), response) == (
        "Test Case Failed: Input: add(1, [2, 3]), Expected output: 'x', "
        "Error: ZeroDivisionError: division by zero"
    )


def test_timeout_names_the_cpu_limit_in_seconds() -> None:
    response = verdict(
        result(0, Status.PASSED),
        result(1, Status.TIME_LIMIT_EXCEEDED),
        status=Status.TIME_LIMIT_EXCEEDED,
    )
    assert execution_feedback(task_with(CALL, CALL), response) == "Timed Out: Maximum 4 s"


def test_stdio_wrong_answer_uses_stdin_and_stdout() -> None:
    stdio = StdioTest(stdin="3\n1 2 3\n", expected_stdout="6\n")
    response = verdict(
        result(0, Status.WRONG_ANSWER, actual="5\n", stdout="5\n"), status=Status.WRONG_ANSWER
    )
    assert execution_feedback(task_with(stdio), response) == (
        "Test Case Failed: Input: 3\n1 2 3, Expected output: 6, Actual output: 5"
    )


def test_examples_and_assertion_message_describe_an_assert_test() -> None:
    error = ErrorInfo(type="AssertionError", message="4", test_index=0)
    response = verdict(result(0, Status.WRONG_ANSWER, error=error), status=Status.WRONG_ANSWER)
    task = task_with(ASSERT, examples=[Example(args=[1, "b"], expected=3)])
    assert execution_feedback(task, response) == (
        "Test Case Failed: Input: add(1, 'b'), Expected output: 3, Actual output: 4"
    )


def test_single_equality_assert_is_split_into_input_and_expected() -> None:
    error = ErrorInfo(type="AssertionError", test_index=0)
    response = verdict(result(0, Status.WRONG_ANSWER, error=error), status=Status.WRONG_ANSWER)
    assert execution_feedback(task_with(ASSERT), response) == (
        "Test Case Failed: Input: add(1, 2), Expected output: 3, Error: AssertionError"
    )


def test_walrus_form_of_crucible_basic_is_understood_without_examples() -> None:
    test = AssertTest(code="assert (_out := add(1, 2)) == 3, repr(_out)\n")
    error = ErrorInfo(type="AssertionError", message="-1", test_index=0)
    response = verdict(result(0, Status.WRONG_ANSWER, error=error), status=Status.WRONG_ANSWER)
    assert execution_feedback(task_with(test), response) == (
        "Test Case Failed: Input: add(1, 2), Expected output: 3, Actual output: -1"
    )


def test_other_assert_tests_are_quoted_whole() -> None:
    test = AssertTest(code="def check(f):\n    assert f(1, 2) == 3\ncheck(add)\n")
    error = ErrorInfo(type="AssertionError", test_index=0)
    response = verdict(result(0, Status.WRONG_ANSWER, error=error), status=Status.WRONG_ANSWER)
    assert execution_feedback(task_with(test), response) == (
        "Test Case Failed: Input: def check(f):\n    assert f(1, 2) == 3\ncheck(add), "
        "Error: AssertionError"
    )


def test_compile_error_before_any_test_describes_the_first_test() -> None:
    error = ErrorInfo(type="SyntaxError", message="invalid syntax", line=1, test_index=-1)
    response = verdict(result(0, Status.SKIPPED), status=Status.COMPILE_ERROR, error=error)
    assert execution_feedback(task_with(ASSERT), response) == (
        "Test Case Failed: Input: add(1, 2), Expected output: 3, Error: SyntaxError: invalid syntax"
    )


def test_status_stands_in_for_a_missing_error() -> None:
    response = verdict(result(0, Status.MEMORY_LIMIT_EXCEEDED), status=Status.MEMORY_LIMIT_EXCEEDED)
    assert execution_feedback(task_with(CALL), response).endswith("Error: MEMORY_LIMIT_EXCEEDED")


def test_long_values_are_cut() -> None:
    response = verdict(
        result(0, Status.WRONG_ANSWER, actual='"' + "y" * 1000 + '"'), status=Status.WRONG_ANSWER
    )
    feedback = execution_feedback(task_with(CALL), response, max_chars=20)
    assert feedback.endswith("Actual output: 'yyyyyyyyyyyyyyyy...")


@pytest.mark.parametrize(
    ("status", "message"),
    [(Status.PASSED, "there is no failure"), (Status.SANDBOX_ERROR, "the sandbox failed")],
)
def test_verdicts_without_a_program_failure_are_rejected(status: Status, message: str) -> None:
    response = verdict(result(0, Status.PASSED), status=status)
    with pytest.raises(ValueError, match=message):
        execution_feedback(task_with(CALL), response)


def test_verdict_of_another_task_is_rejected() -> None:
    response = verdict(
        result(0, Status.PASSED), result(1, Status.WRONG_ANSWER), status=Status.WRONG_ANSWER
    )
    with pytest.raises(ValueError, match="test 1 failed but task t/1 has 1 tests"):
        execution_feedback(task_with(CALL), response)


def test_comment_out_prefixes_every_line() -> None:
    assert comment_out("def f():\n\n    return 1\n") == "# def f():\n# \n#     return 1"
    assert comment_out("") == ""
