"""CYCLE's execution feedback (Ding et al. 2024): what the refine prompt says about a failure.

The feedback describes the first failing test of a verdict in one of CYCLE's three forms:

* ``Test Case Failed: Input: …, Expected output: …, Actual output: …`` (wrong answer),
* ``Test Case Failed: Input: …, Expected output: …, Error: <exception>`` (the program raised),
* ``Timed Out: Maximum <t> s``.

Inputs and expected values are read from the task's structured examples when it has them, else
from the test: a call test's arguments, a stdio test's stdin, or a single ``assert A == B``
statement split into A and B; any other assert test (HumanEval's ``check``) is quoted whole as
the input. Call and stdio tests report the actual value the sandbox returns. Assert tests return
none, so their assertion message stands in for it (crucible-basic tests put ``repr`` of the
result there); without a message the AssertionError is reported as the error. Every value is cut
to ``max_chars`` because the feedback is spliced into a prompt with a token budget.
"""

from __future__ import annotations

import ast
import json

from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    ErrorInfo,
    ExecuteResponse,
    Status,
    TestResult,
)

MAX_CHARS = 300


def comment_out(text: str) -> str:
    """``text`` with every line prefixed by ``# `` (how the refine prompt quotes code and
    feedback without making them part of the program); no trailing newline."""
    return "\n".join(f"# {line}" for line in text.splitlines())


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def _literal(json_text: str) -> str:
    """A JSON value written as the Python literal a programmer would read."""
    try:
        return repr(json.loads(json_text))
    except json.JSONDecodeError:
        return json_text


def _compared_sides(code: str) -> tuple[str, str] | None:
    """The two sides of a test that is one ``assert A == B`` statement."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        return None
    test = tree.body[0].test
    if not isinstance(test, ast.Compare) or [type(op) for op in test.ops] != [ast.Eq]:
        return None
    left = test.left.value if isinstance(test.left, ast.NamedExpr) else test.left
    sides = ast.get_source_segment(code, left), ast.get_source_segment(code, test.comparators[0])
    return (sides[0], sides[1]) if sides[0] is not None and sides[1] is not None else None


def _input_and_expected(task: Task, index: int) -> tuple[str, str | None]:
    body = task.tests[index].body
    if task.examples:
        example = task.examples[index]
        arguments = ", ".join(repr(arg) for arg in example.args)
        return f"{task.entry_point}({arguments})", repr(example.expected)
    if isinstance(body, CallTest):
        arguments = ", ".join(repr(arg) for arg in json.loads(body.args_json))
        return f"{body.function_name}({arguments})", _literal(body.expected_json)
    if isinstance(body, AssertTest):
        sides = _compared_sides(body.code)
        return sides if sides is not None else (body.code.strip(), None)
    return body.stdin.rstrip("\n"), body.expected_stdout.rstrip("\n")


def _actual(task: Task, result: TestResult) -> str | None:
    body = task.tests[result.index].body
    if isinstance(body, CallTest):
        return _literal(result.actual)
    if isinstance(body, AssertTest):
        message = result.error.message if result.error is not None else ""
        return message or None
    return (result.actual or result.stdout).rstrip("\n")


def _exception(error: ErrorInfo | None, status: Status) -> str:
    if error is None or not error.type:
        return status.value
    return f"{error.type}: {error.message}" if error.message else error.type


def _first_failure(response: ExecuteResponse) -> tuple[int, Status, TestResult | None]:
    for result in response.tests:
        if result.status not in (Status.PASSED, Status.SKIPPED):
            return result.index, result.status, result
    # A compile error can stop the program before any test ran: describe the first test.
    return 0, response.status, None


def execution_feedback(task: Task, response: ExecuteResponse, max_chars: int = MAX_CHARS) -> str:
    """CYCLE's feedback line for the first failing test of ``response`` (a verdict on ``task``).

    Raises ValueError for a passing verdict or a sandbox failure: neither has a program failure
    to describe.
    """
    if response.status == Status.PASSED:
        raise ValueError("the verdict passed; there is no failure to describe")
    if response.status == Status.SANDBOX_ERROR:
        raise ValueError("the sandbox failed, not the program; retry instead of refining")
    index, status, result = _first_failure(response)
    if index >= len(task.tests):
        raise ValueError(f"test {index} failed but task {task.task_id} has {len(task.tests)} tests")
    if status == Status.TIME_LIMIT_EXCEEDED:
        return f"Timed Out: Maximum {response.limits.cpu_time_limit_ms / 1000:g} s"
    test_input, expected = _input_and_expected(task, index)
    parts = [f"Input: {_cut(test_input, max_chars)}"]
    if expected is not None:
        parts.append(f"Expected output: {_cut(expected, max_chars)}")
    actual = _actual(task, result) if result is not None and status == Status.WRONG_ANSWER else None
    if actual is not None:
        parts.append(f"Actual output: {_cut(actual, max_chars)}")
    else:
        error = result.error if result is not None and result.error else response.error
        parts.append(f"Error: {_cut(_exception(error, status), max_chars)}")
    return "Test Case Failed: " + ", ".join(parts)
