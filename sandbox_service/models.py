"""Typed models of the sandbox contract.

Field names equal those of ``proto/crucible/sandbox/v1/sandbox.proto`` so that the conversion in
:mod:`sandbox_service.wire` is mechanical; everything but the servicer and the client works with
these models, never with generated stubs. Validation that names the offending field lives here,
so the CLI, the in-process engine and the gRPC server reject bad input with the same words.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_SOURCE_BYTES = 1 << 20
MAX_TESTS = 10_000
MAX_TEST_BYTES = 4 << 20


class Status(StrEnum):
    """Verdict status of a program or of one test (see ``Verdict.Status`` in the proto)."""

    PASSED = "PASSED"
    WRONG_ANSWER = "WRONG_ANSWER"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    COMPILE_ERROR = "COMPILE_ERROR"
    TIME_LIMIT_EXCEEDED = "TIME_LIMIT_EXCEEDED"
    MEMORY_LIMIT_EXCEEDED = "MEMORY_LIMIT_EXCEEDED"
    OUTPUT_LIMIT_EXCEEDED = "OUTPUT_LIMIT_EXCEEDED"
    SANDBOX_ERROR = "SANDBOX_ERROR"
    SKIPPED = "SKIPPED"


class Subtype(StrEnum):
    """RLTF fine-grained error class: which tokens an error implicates."""

    GLOBAL = "GLOBAL"
    LINE = "LINE"
    IGNORE = "IGNORE"


class CheckerKind(StrEnum):
    """How an actual output is compared with the expected one (outside the sandbox)."""

    EXACT = "EXACT"
    WHITESPACE = "WHITESPACE"
    FLOAT = "FLOAT"


class IsolationMode(StrEnum):
    """How a program was isolated."""

    STRICT = "STRICT"
    POOLED = "POOLED"
    NONE = "NONE"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Model):
    """Per-test limits. ``None`` means "server default"; the engine resolves them."""

    cpu_time_limit_ms: Annotated[float, Field(gt=0, le=600_000)] | None = None
    wall_time_limit_ms: Annotated[float, Field(gt=0, le=1_800_000)] | None = None
    memory_limit_bytes: Annotated[int, Field(ge=16 << 20, le=64 << 30)] | None = None
    output_limit_bytes: Annotated[int, Field(ge=1 << 10, le=1 << 30)] | None = None


def backstop_wall_ms(cpu_time_limit_ms: float) -> float:
    """The contract's wall-clock limit of a test that sets none: 3 x its CPU limit plus one
    second (room for start-up and a loaded host, while a sleeping program still ends soon)."""
    return 3 * cpu_time_limit_ms + 1000


class ResolvedLimits(_Model):
    """Limits with every default filled in, as echoed in a verdict."""

    cpu_time_limit_ms: float
    wall_time_limit_ms: float
    memory_limit_bytes: int
    output_limit_bytes: int

    @classmethod
    def resolve(cls, limits: Limits, defaults: ResolvedLimits) -> ResolvedLimits:
        cpu = limits.cpu_time_limit_ms or defaults.cpu_time_limit_ms
        wall = limits.wall_time_limit_ms or backstop_wall_ms(cpu)
        return cls(
            cpu_time_limit_ms=cpu,
            wall_time_limit_ms=wall,
            memory_limit_bytes=limits.memory_limit_bytes or defaults.memory_limit_bytes,
            output_limit_bytes=limits.output_limit_bytes or defaults.output_limit_bytes,
        )


class OutputChecker(_Model):
    kind: CheckerKind = CheckerKind.EXACT
    float_absolute_tolerance: Annotated[float, Field(ge=0)] = 1e-6
    float_relative_tolerance: Annotated[float, Field(ge=0)] = 1e-6


def _json_field(value: str, field: str) -> str:
    try:
        json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{field} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    return value


class AssertTest(_Model):
    kind: Literal["assert"] = "assert"
    code: Annotated[str, Field(min_length=1, max_length=MAX_TEST_BYTES)]


class CallTest(_Model):
    kind: Literal["call"] = "call"
    function_name: Annotated[
        str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    ]
    args_json: str = "[]"
    expected_json: str

    @field_validator("args_json")
    @classmethod
    def _args_array(cls, value: str) -> str:
        _json_field(value, "args_json")
        if not isinstance(json.loads(value), list):
            raise ValueError("args_json must be a JSON array of positional arguments")
        return value

    @field_validator("expected_json")
    @classmethod
    def _expected_valid(cls, value: str) -> str:
        return _json_field(value, "expected_json")


class StdioTest(_Model):
    kind: Literal["stdio"] = "stdio"
    stdin: Annotated[str, Field(max_length=MAX_TEST_BYTES)] = ""
    expected_stdout: Annotated[str, Field(max_length=MAX_TEST_BYTES)]


TestBody = Annotated[AssertTest | CallTest | StdioTest, Field(discriminator="kind")]


class ProgramRun(StdioTest):
    """The one run of a request without tests, as the engine executes it: a stdio test whose
    output is returned, never compared (``expected_stdout`` is unused). Made by
    :meth:`ExecuteRequest.with_run`, never sent: on the wire a run is a request without tests."""


class TestCase(_Model):
    __test__ = False  # not a pytest test class

    name: str = ""
    body: TestBody
    checker: OutputChecker | None = None

    def resolved_checker(self) -> OutputChecker:
        """The checker that decides this test: the request's, else the kind's default."""
        if self.checker is not None:
            return self.checker
        default = CheckerKind.WHITESPACE if self.body.kind == "stdio" else CheckerKind.EXACT
        return OutputChecker(kind=default)

    def reported_checker(self) -> OutputChecker | None:
        """The checker a result names: none for assert tests and runs, which compare nothing."""
        if self.body.kind == "assert" or isinstance(self.body, ProgramRun):
            return None
        return self.resolved_checker()


class ExecuteRequest(_Model):
    request_id: str = ""
    language: Annotated[str, Field(min_length=1)] = "python"
    source: Annotated[str, Field(max_length=MAX_SOURCE_BYTES)]
    prelude: Annotated[str, Field(max_length=MAX_SOURCE_BYTES)] = ""
    tests: Annotated[list[TestCase], Field(max_length=MAX_TESTS)]
    limits: Limits = Limits()
    collect_coverage: bool = False
    stop_on_first_failure: bool = False
    stdin: Annotated[str, Field(max_length=MAX_TEST_BYTES)] = ""
    tests_share_process: bool = Field(
        default=False,
        description="Run the tests one after another in one process (HumanEval's way) instead "
        "of a process per test: cheaper, but what a test changes in the process (globals, "
        "modules, builtins, threads, files in /tmp) is seen by the tests after it. Python "
        "only. The proto's ExecuteRequest.tests_share_process says what each test keeps.",
    )

    @model_validator(mode="after")
    def _stdin_only_for_a_run(self) -> ExecuteRequest:
        if self.stdin and self.tests:
            raise ValueError(
                "stdin is the input of a run without tests; with tests, give each stdio test "
                "its own tests[i].stdio_test.stdin"
            )
        return self

    @property
    def is_run(self) -> bool:
        """A request without tests: the program runs once (``stdin`` in, output returned)."""
        return not self.tests

    def with_run(self) -> ExecuteRequest:
        """The request as the engine executes a run: its one test is a :class:`ProgramRun`."""
        run = TestCase(name="run", body=ProgramRun(stdin=self.stdin, expected_stdout=""))
        return self.model_copy(update={"tests": [run]})

    @model_validator(mode="after")
    def _source_bytes(self) -> ExecuteRequest:
        size = len(self.source.encode()) + len(self.prelude.encode())
        if size > MAX_SOURCE_BYTES:
            raise ValueError(
                f"source and prelude are {size} bytes together; the limit is {MAX_SOURCE_BYTES}"
            )
        return self


class ErrorInfo(_Model):
    type: str = ""
    message: str = ""
    line: int = 0
    traceback: str = ""
    subtype: Subtype = Subtype.IGNORE
    test_index: int = -1


class TestResult(_Model):
    __test__ = False  # not a pytest test class

    index: int
    name: str = ""
    status: Status
    cpu_time_ms: float = 0.0
    wall_time_ms: float = 0.0
    peak_memory_bytes: int = 0
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    actual: str = ""
    expected: str = ""
    checker: OutputChecker | None = None
    error: ErrorInfo | None = None
    exit_code: int = 0


class ExecuteResponse(_Model):
    request_id: str = ""
    status: Status
    pass_ratio: float
    passed_count: int
    test_count: int
    tests: list[TestResult]
    error: ErrorInfo | None = None
    executed_lines: list[int] = []
    coverage_collected: bool = False
    cpu_time_ms: float = 0.0
    wall_time_ms: float = 0.0
    peak_memory_bytes: int = 0
    isolation: IsolationMode
    limits: ResolvedLimits
    runtime: str = ""
    executable_lines: list[int] = []
    run: TestResult | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The verdict as plain JSON (snake_case names, enum values as strings)."""
        return self.model_dump(mode="json")


class Capabilities(_Model):
    assert_tests: bool
    call_tests: bool
    stdio_tests: bool
    error_type: bool
    error_line: bool
    error_subtype: bool
    executed_lines: bool
    peak_memory: bool
    compile_step: bool
    executable_lines: bool


class Language(_Model):
    name: str
    runtime: str
    file_suffix: str
    capabilities: Capabilities
