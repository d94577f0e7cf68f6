"""Reading the TESTS.jsonl file of ``crucible check``: one test per line, friendlier to write by
hand than the contract (``"args": [1, 2]`` rather than ``"args_json": "[1, 2]"``).

Lines::

    {"kind": "assert", "code": "assert add(1, 2) == 3"}
    {"kind": "call", "function": "add", "args": [1, 2], "expected": 3, "checker": "exact"}
    {"kind": "stdio", "stdin": "1 2\\n", "expected_stdout": "3\\n",
     "checker": {"kind": "float", "abs_tol": 1e-6, "rel_tol": 1e-9}}

each with an optional ``"name"``. A mistake is reported as ``FILE:LINE: what is wrong``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    CheckerKind,
    OutputChecker,
    StdioTest,
    TestBody,
    TestCase,
)

_MAX_REPORTED_ERRORS = 3
# Contract field names -> the names a TESTS.jsonl line uses, for errors raised by the models.
_LINE_NAMES = {"function_name": "function", "args_json": "args", "expected_json": "expected"}


class InvalidTestsFile(ValueError):
    """A TESTS.jsonl file that does not describe tests; the message names file and line."""


class _Checker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["exact", "whitespace", "float"]
    abs_tol: Annotated[float, Field(ge=0)] | None = None
    rel_tol: Annotated[float, Field(ge=0)] | None = None

    def to_model(self) -> OutputChecker:
        fields: dict[str, Any] = {"kind": CheckerKind(self.kind.upper())}
        if self.abs_tol is not None:
            fields["float_absolute_tolerance"] = self.abs_tol
        if self.rel_tol is not None:
            fields["float_relative_tolerance"] = self.rel_tol
        return OutputChecker(**fields)


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""


class _CheckedLine(_Line):
    checker: _Checker | None = None

    @field_validator("checker", mode="before")
    @classmethod
    def _checker_by_name(cls, value: Any) -> Any:
        """Allow the short form ``"checker": "float"``."""
        return {"kind": value} if isinstance(value, str) else value


class _AssertLine(_Line):
    kind: Literal["assert"]
    code: str

    def body(self) -> TestBody:
        return AssertTest(code=self.code)


class _CallLine(_CheckedLine):
    kind: Literal["call"]
    function: str
    args: list[Any] = []
    expected: Any  # required; null is a valid expected value

    def body(self) -> TestBody:
        return CallTest(
            function_name=self.function,
            args_json=json.dumps(self.args),
            expected_json=json.dumps(self.expected),
        )


class _StdioLine(_CheckedLine):
    kind: Literal["stdio"]
    stdin: str = ""
    expected_stdout: str

    def body(self) -> TestBody:
        return StdioTest(stdin=self.stdin, expected_stdout=self.expected_stdout)


_LINE = TypeAdapter[_AssertLine | _CallLine | _StdioLine](
    Annotated[_AssertLine | _CallLine | _StdioLine, Field(discriminator="kind")]
)


def load_tests(path: Path) -> list[TestCase]:
    """Every test in the JSONL file at ``path`` (blank lines skipped); raise
    :class:`InvalidTestsFile` at the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidTestsFile(f"{path}: cannot read: {exc}") from None
    tests = [
        parse_line(line, f"{path}:{number}")
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not tests:
        raise InvalidTestsFile(f"{path}: no tests (expected one JSON object per line)")
    return tests


def parse_line(line: str, where: str) -> TestCase:
    """One test from one line; ``where`` (``FILE:LINE``) prefixes every error."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidTestsFile(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InvalidTestsFile(f"{where}: expected a JSON object, got {type(value).__name__}")
    if "kind" not in value:
        raise InvalidTestsFile(f'{where}: "kind" is missing; use "assert", "call" or "stdio"')
    try:
        spec = _LINE.validate_python(value)
        checker = (
            spec.checker.to_model() if isinstance(spec, _CheckedLine) and spec.checker else None
        )
        return TestCase(name=spec.name, body=spec.body(), checker=checker)
    except ValidationError as exc:
        raise InvalidTestsFile(f"{where}: {_describe(exc)}") from None


def _describe(error: ValidationError) -> str:
    parts = []
    for detail in error.errors()[:_MAX_REPORTED_ERRORS]:
        loc = [_LINE_NAMES.get(str(part), str(part)) for part in detail["loc"]]
        if loc and loc[0] in ("assert", "call", "stdio"):  # the union's tag is not a field
            loc = loc[1:]
        cause = detail.get("ctx", {}).get("error")
        message = str(cause) if isinstance(cause, ValueError) else detail["msg"]
        parts.append(f"{'.'.join(loc)}: {message}" if loc else message)
    return "; ".join(parts)
