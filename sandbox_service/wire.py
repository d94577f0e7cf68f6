"""The one place where generated protobuf messages meet the typed models.

Everything else (engine, CLI, training loop) works with :mod:`sandbox_service.models`; the servicer
and the client call these pure functions at their edges. Proto3 cannot tell "unset" from zero, so
the contract's rule "0 means the server's default" is applied here, in both directions, and nowhere
else. Validation stays in the models: a :class:`pydantic.ValidationError` is translated into an
:class:`InvalidRequest` whose message names the field by its proto path (``tests[3].call_test.
args_json``), so a gRPC caller reads the names of the messages it sent.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    Capabilities,
    CheckerKind,
    ExecuteRequest,
    ExecuteResponse,
    IsolationMode,
    Language,
    OutputChecker,
    Status,
    Subtype,
    TestCase,
)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SandboxService"].full_name
"""The contract's service name, as health checks and reflection know it."""

# The model's discriminator value of a test body -> the name of the proto's oneof field.
_BODY_FIELD = {"assert": "assert_test", "call": "call_test", "stdio": "stdio_test"}
_MAX_REPORTED_ERRORS = 3
_MAX_SHOWN_INPUT = 40

_E = TypeVar("_E", bound=StrEnum)


class InvalidRequest(ValueError):
    """A request message that does not describe a runnable request; the message names the field
    by its proto path."""


class InvalidResponse(ValueError):
    """A response message that breaks the contract: a server bug, or a server of another version."""


# --- requests ---------------------------------------------------------------------------------


def request_from_proto(message: pb.ExecuteRequest) -> ExecuteRequest:
    """Validate a request message into a model; raise :class:`InvalidRequest` naming the field."""
    fields: dict[str, Any] = {
        "request_id": message.request_id,
        "source": message.source,
        "prelude": message.prelude,
        "tests": [_test_fields(test, index) for index, test in enumerate(message.tests)],
        "limits": _limit_fields(message.limits),
        "collect_coverage": message.collect_coverage,
        "stop_on_first_failure": message.stop_on_first_failure,
        "stdin": message.stdin,
        "tests_share_process": message.tests_share_process,
    }
    if message.language:  # "" is proto3's "unset": keep the model's default language
        fields["language"] = message.language
    try:
        return ExecuteRequest.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None


def request_to_proto(request: ExecuteRequest) -> pb.ExecuteRequest:
    """The message a client sends for ``request``."""
    return pb.ExecuteRequest(
        request_id=request.request_id,
        language=request.language,
        source=request.source,
        prelude=request.prelude,
        tests=[_test_to_proto(test) for test in request.tests],
        limits=pb.Limits(
            cpu_time_limit_ms=request.limits.cpu_time_limit_ms or 0.0,
            wall_time_limit_ms=request.limits.wall_time_limit_ms or 0.0,
            memory_limit_bytes=request.limits.memory_limit_bytes or 0,
            output_limit_bytes=request.limits.output_limit_bytes or 0,
        ),
        collect_coverage=request.collect_coverage,
        stop_on_first_failure=request.stop_on_first_failure,
        stdin=request.stdin,
        tests_share_process=request.tests_share_process,
    )


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each offending field by its proto path, e.g.
    ``tests[3].call_test.args_json is not valid JSON: … at position 0``."""
    parts = [_describe_one(detail) for detail in error.errors()[:_MAX_REPORTED_ERRORS]]
    hidden = error.error_count() - len(parts)
    if hidden > 0:
        parts.append(f"and {hidden} more error{'s' if hidden > 1 else ''}")
    return "; ".join(parts)


def _describe_one(detail: ErrorDetails) -> str:
    path = _proto_path(detail["loc"])
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):  # our own validators: their message is already a sentence
        text = str(cause)
    else:
        text = detail["msg"]
        shown = detail.get("input")
        if isinstance(shown, int | float | str) and len(repr(shown)) <= _MAX_SHOWN_INPUT:
            text += f" (got {shown!r})"
    if not path:
        return text
    leaf = path.rsplit(".", 1)[-1]
    if text.startswith(leaf + " "):  # "args_json is not valid JSON" -> "tests[0]….args_json is …"
        return path + text[len(leaf) :]
    return f"{path}: {text}"


def _proto_path(loc: Sequence[int | str]) -> str:
    """``('tests', 3, 'body', 'call', 'args_json')`` -> ``tests[3].call_test.args_json``."""
    path = ""
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "body" and parts and str(parts[0]) in _BODY_FIELD:
            path += ("." if path else "") + _BODY_FIELD[str(parts.pop(0))]
        else:
            path += ("." if path else "") + part
    return path


def _test_fields(test: pb.TestCase, index: int) -> dict[str, Any]:
    kind = test.WhichOneof("kind")
    if kind is None:
        raise InvalidRequest(
            f"tests[{index}] has no body: set one of assert_test, call_test or stdio_test"
        )
    body: dict[str, Any]
    if kind == "assert_test":
        body = {"kind": "assert", "code": test.assert_test.code}
    elif kind == "call_test":
        body = {
            "kind": "call",
            "function_name": test.call_test.function_name,
            # "" is proto3's unset: a call without arguments
            "args_json": test.call_test.args_json or "[]",
            "expected_json": test.call_test.expected_json,
        }
    else:
        body = {
            "kind": "stdio",
            "stdin": test.stdio_test.stdin,
            "expected_stdout": test.stdio_test.expected_stdout,
        }
    return {
        "name": test.name,
        "body": body,
        "checker": _checker_fields(test, f"tests[{index}]"),
    }


def _checker_fields(owner: pb.TestCase | pb.TestResult, path: str) -> dict[str, Any] | None:
    """``None`` (the test kind's default) when the checker or its kind is unset. A tolerance
    that is not set takes the model's default, the contract's 1e-6; one set to 0 is 0."""
    if not owner.HasField("checker") or owner.checker.kind == pb.OutputChecker.KIND_UNSPECIFIED:
        return None
    checker = owner.checker
    where = f"{path}.checker.kind"
    fields: dict[str, Any] = {
        "kind": _enum_from_proto(pb.OutputChecker.Kind, checker.kind, CheckerKind, where)
    }
    for name in ("float_absolute_tolerance", "float_relative_tolerance"):
        if checker.HasField(name):
            fields[name] = getattr(checker, name)
    return fields


def _limit_fields(limits: pb.Limits) -> dict[str, Any]:
    """Only the limits that are set (non-zero); the model reads a missing one as the default."""
    names = ("cpu_time_limit_ms", "wall_time_limit_ms", "memory_limit_bytes", "output_limit_bytes")
    return {name: getattr(limits, name) for name in names if getattr(limits, name)}


def _test_to_proto(test: TestCase) -> pb.TestCase:
    message = pb.TestCase(name=test.name)
    body = test.body
    if isinstance(body, AssertTest):
        message.assert_test.code = body.code
    elif isinstance(body, CallTest):
        message.call_test.function_name = body.function_name
        message.call_test.args_json = body.args_json
        message.call_test.expected_json = body.expected_json
    else:
        message.stdio_test.stdin = body.stdin
        message.stdio_test.expected_stdout = body.expected_stdout
    if test.checker is not None:
        message.checker.CopyFrom(_checker_to_proto(test.checker))
    return message


# --- responses --------------------------------------------------------------------------------


def response_to_proto(response: ExecuteResponse) -> pb.ExecuteResponse:
    """The message a server sends for a verdict. The models' field names and enum value names
    are the proto's, and the proto's constructor takes nested dicts, enum value names, and
    None for an absent message, so the model's dump is the message's fields: one dump in
    pydantic's core costs less than a constructor call per nested message."""
    return pb.ExecuteResponse(**response.model_dump())


def response_from_proto(message: pb.ExecuteResponse) -> ExecuteResponse:
    """The verdict in a server's message; :class:`InvalidResponse` if it breaks the contract.

    The fields are gathered into one nested dict and validated once: pydantic builds the nested
    test results and limits itself, which costs less than a constructor call per model."""
    limits = message.limits
    try:
        fields = {
            "request_id": message.request_id,
            "status": _enum_from_proto(pb.Verdict.Status, message.status, Status, "status"),
            "pass_ratio": message.pass_ratio,
            "passed_count": message.passed_count,
            "test_count": message.test_count,
            "tests": [
                _test_result_fields(result, f"tests[{result.index}]") for result in message.tests
            ],
            "error": _error_fields(message.error) if message.HasField("error") else None,
            "executed_lines": list(message.executed_lines),
            "coverage_collected": message.coverage_collected,
            "cpu_time_ms": message.cpu_time_ms,
            "wall_time_ms": message.wall_time_ms,
            "peak_memory_bytes": message.peak_memory_bytes,
            "isolation": _enum_from_proto(
                pb.ExecuteResponse.IsolationMode, message.isolation, IsolationMode, "isolation"
            ),
            "limits": {
                "cpu_time_limit_ms": limits.cpu_time_limit_ms,
                "wall_time_limit_ms": limits.wall_time_limit_ms,
                "memory_limit_bytes": limits.memory_limit_bytes,
                "output_limit_bytes": limits.output_limit_bytes,
            },
            "runtime": message.runtime,
            "executable_lines": list(message.executable_lines),
            "run": _test_result_fields(message.run, "run") if message.HasField("run") else None,
        }
        return ExecuteResponse.model_validate(fields)
    except InvalidRequest as exc:  # raised by _enum_from_proto; here the server is at fault
        raise InvalidResponse(str(exc)) from None
    except ValidationError as exc:
        raise InvalidResponse(describe_validation_error(exc)) from None


def _test_result_fields(message: pb.TestResult, path: str) -> dict[str, Any]:
    return {
        "index": message.index,
        "name": message.name,
        "status": _enum_from_proto(pb.Verdict.Status, message.status, Status, f"{path}.status"),
        "cpu_time_ms": message.cpu_time_ms,
        "wall_time_ms": message.wall_time_ms,
        "peak_memory_bytes": message.peak_memory_bytes,
        "stdout": message.stdout,
        "stderr": message.stderr,
        "stdout_truncated": message.stdout_truncated,
        "stderr_truncated": message.stderr_truncated,
        "actual": message.actual,
        "expected": message.expected,
        "checker": _checker_fields(message, path),
        "error": _error_fields(message.error) if message.HasField("error") else None,
        "exit_code": message.exit_code,
    }


def _checker_to_proto(checker: OutputChecker) -> pb.OutputChecker:
    return pb.OutputChecker(
        kind=checker.kind.value,
        float_absolute_tolerance=checker.float_absolute_tolerance,
        float_relative_tolerance=checker.float_relative_tolerance,
    )


def _error_fields(message: pb.ErrorInfo) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": message.type,
        "message": message.message,
        "line": message.line,
        "traceback": message.traceback,
        "test_index": message.test_index,
    }
    if message.subtype != pb.ErrorInfo.SUBTYPE_UNSPECIFIED:  # unset keeps the model's default
        fields["subtype"] = _enum_from_proto(
            pb.ErrorInfo.Subtype, message.subtype, Subtype, "error.subtype"
        )
    return fields


# --- languages --------------------------------------------------------------------------------


def languages_to_proto(languages: Sequence[Language]) -> pb.ListLanguagesResponse:
    """The ListLanguages answer for ``languages`` (kept in the engine's order: sorted by name)."""
    return pb.ListLanguagesResponse(
        languages=[
            pb.Language(
                name=language.name,
                runtime=language.runtime,
                file_suffix=language.file_suffix,
                capabilities=pb.Capabilities(**language.capabilities.model_dump()),
            )
            for language in languages
        ]
    )


def languages_from_proto(message: pb.ListLanguagesResponse) -> list[Language]:
    """The languages in a ListLanguages answer."""
    names = list(Capabilities.model_fields)
    return [
        Language(
            name=language.name,
            runtime=language.runtime,
            file_suffix=language.file_suffix,
            capabilities=Capabilities(
                **{name: getattr(language.capabilities, name) for name in names}
            ),
        )
        for language in message.languages
    ]


# --- enums ------------------------------------------------------------------------------------


def _enum_from_proto(wrapper: Any, number: int, model_enum: type[_E], path: str) -> _E:
    """Map a proto enum number to the model enum of the same value name. The ``*_UNSPECIFIED``
    zero and numbers this version does not know (proto3 enums are open) are rejected."""
    try:
        member: _E = _enum_member(wrapper, number, model_enum)
    except ValueError:
        raise InvalidRequest(f"{path} has no valid value (got {number})") from None
    return member


@functools.cache
def _enum_member(wrapper: Any, number: int, model_enum: type[_E]) -> _E:
    """The model enum member of a proto enum number (ValueError: none), remembered: a verdict
    carries several, and the name lookup and the enum call cost more than the cache."""
    return model_enum(wrapper.Name(number))
