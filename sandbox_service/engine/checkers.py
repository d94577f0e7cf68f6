"""Output checkers, run on the trusted side: expected outputs never enter the sandbox.

Each checker is named in the request (or defaulted per test kind and echoed in the result), so a
reward computed from a verdict is reproducible. Call-test values are compared as JSON values with
strict types (``1``, ``1.0`` and ``true`` differ under EXACT), unlike harnesses that compare
``str()`` forms or token sets.
"""

from __future__ import annotations

import json
import math
from typing import Any

from crucible.sandbox_service.models import CheckerKind, OutputChecker


def _normalise_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _close(actual: float, expected: float, checker: OutputChecker) -> bool:
    if math.isnan(actual) or math.isnan(expected):
        return math.isnan(actual) and math.isnan(expected)
    return math.isclose(
        actual,
        expected,
        rel_tol=checker.float_relative_tolerance,
        abs_tol=checker.float_absolute_tolerance,
    )


def _float_token(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def _tokens_match(actual: str, expected: str, checker: OutputChecker) -> bool:
    if actual == expected:
        return True
    left, right = _float_token(actual), _float_token(expected)
    return left is not None and right is not None and _close(left, right, checker)


def stdout_matches(actual: str, expected: str, checker: OutputChecker) -> bool:
    """Whether a program's standard output satisfies the checker."""
    if checker.kind is CheckerKind.EXACT:
        return actual == expected
    actual_lines, expected_lines = _normalise_lines(actual), _normalise_lines(expected)
    if checker.kind is CheckerKind.WHITESPACE:
        return actual_lines == expected_lines
    if len(actual_lines) != len(expected_lines):
        return False
    for got_line, want_line in zip(actual_lines, expected_lines, strict=True):
        got, want = got_line.split(), want_line.split()
        if len(got) != len(want):
            return False
        if not all(_tokens_match(a, e, checker) for a, e in zip(got, want, strict=True)):
            return False
    return True


def _values_match(actual: Any, expected: Any, checker: OutputChecker) -> bool:
    number = (int, float)
    if (
        checker.kind is CheckerKind.FLOAT
        and isinstance(actual, number)
        and isinstance(expected, number)
        and not isinstance(actual, bool)
        and not isinstance(expected, bool)
    ):
        return _close(float(actual), float(expected), checker)
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, list):
        return len(actual) == len(expected) and all(
            _values_match(a, e, checker) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            _values_match(actual[key], expected[key], checker) for key in actual
        )
    if isinstance(actual, str) and checker.kind is not CheckerKind.EXACT:
        return _normalise_lines(actual) == _normalise_lines(expected)
    if isinstance(actual, float) and math.isnan(actual):
        return math.isnan(expected)
    return bool(actual == expected)


def value_matches(actual_json: str, expected_json: str, checker: OutputChecker) -> bool:
    """Whether a call test's returned JSON value satisfies the checker."""
    return _values_match(json.loads(actual_json), json.loads(expected_json), checker)
