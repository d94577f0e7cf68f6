"""SandboxFusion's ``POST /run_code``, field for field, on Crucible's engine: clients written for
SandboxFusion (verl's sandbox reward and code-interpreter tool) point their URL here unchanged.

A request becomes an ``Execute`` without tests (the program runs once with ``stdin``, isolation
on), and the run becomes SandboxFusion's answer:

- request: ``code``, ``language`` (SandboxFusion's names; ``nodejs`` is Crucible's
  ``javascript``; Crucible's own names work too), ``stdin``, ``run_timeout`` (seconds; Crucible's
  CPU limit of the run, its wall-clock backstop the server's default for that limit, so a
  loaded host does not turn a run into a timeout), ``memory_limit_MB`` (0 or less: the server's
  default),
  ``compile_timeout`` (accepted; compiling runs under the server's own limit, the engine's
  ``COMPILE_CPU_MS``), and ``files``, ``fetch_files`` and ``args`` accepted only empty: a program
  runs alone in its jail, with no file of the caller's and none fetched back.
- response: ``status`` ``Success`` (the run exited 0), ``Failed`` (a compile error, a non-zero
  exit, a time, memory or output limit) or ``SandboxError`` (the sandbox failed), ``message``
  (the Crucible status and error when not ``Success``), ``compile_result`` (languages built before
  they run: C, C++, Go, Java, Rust) and ``run_result`` (absent when the build failed), each with
  ``status`` (``Finished``, ``TimeLimitExceeded`` or ``Error``), ``execution_time`` (seconds),
  ``return_code`` (None after a time limit, as SandboxFusion's), ``stdout`` and ``stderr``;
  ``executor_pod_name`` None and ``files`` empty.

The program's standard error is the run's; an exception or compile error the jail caught itself
(Python's traceback, a compiler's message) follows it, traceback then ``Type: message``, as the
language's own runtime would have printed it. A compile error's ``return_code`` is 1 (the
verdict keeps the message, not the compiler's code); ``execution_time`` of a
``compile_result`` is the time before the run (building, or finding the cached build).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import grpc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox_service.server.dispatch import Failure
from crucible.sandbox_service.server.http import HTTP_STATUS, RETRY_AFTER_S, HttpContext, HttpError

ROUTE = "POST /run_code"
# SandboxFusion's language names that differ from Crucible's.
LANGUAGE_ALIASES = {"nodejs": "javascript"}
# Languages SandboxFusion compiles before running them, so answers with a compile_result.
COMPILED = frozenset({"c", "cpp", "go", "java", "rust"})

_Status = pb.Verdict.Status
# Error types of a program that ended itself with a non-zero code (nothing printed for it).
_BARE_EXITS = frozenset({"Exit", "SystemExit"})


class RunStatus(StrEnum):
    """SandboxFusion's overall status."""

    SUCCESS = "Success"
    FAILED = "Failed"
    SANDBOX_ERROR = "SandboxError"


class CommandStatus(StrEnum):
    """SandboxFusion's status of one command (the compile or the run)."""

    FINISHED = "Finished"
    ERROR = "Error"
    TIME_LIMIT_EXCEEDED = "TimeLimitExceeded"


def _empty(value: Any, field: str) -> Any:
    if value:
        raise ValueError(
            f"{field} is not supported: a program runs alone in its jail, with no file of the "
            "caller's and none fetched back; send it empty or leave it out"
        )
    return value


class RunCodeRequest(BaseModel):
    """SandboxFusion's request; unknown fields are refused by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    language: str
    stdin: str | None = None
    run_timeout: Annotated[float, Field(gt=0, le=600)] = 10.0
    compile_timeout: Annotated[float, Field(gt=0)] = 10.0
    memory_limit_MB: int = -1  # noqa: N815 (SandboxFusion's field name)
    files: dict[str, str | None] = {}
    fetch_files: list[str] = []
    args: list[str] = []

    @field_validator("files", "fetch_files", "args")
    @classmethod
    def _nothing_but_the_program(cls, value: Any, info: Any) -> Any:
        return _empty(value, info.field_name)

    @field_validator("memory_limit_MB")
    @classmethod
    def _memory_range(cls, value: int) -> int:
        if 0 < value < 16 or value > 65536:
            raise ValueError("must be -1 (the server's default) or 16 to 65536 megabytes")
        return value


class CommandRunResult(BaseModel):
    """SandboxFusion's result of one command."""

    status: CommandStatus
    execution_time: float | None = None
    return_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None


class RunCodeResponse(BaseModel):
    """SandboxFusion's response."""

    status: RunStatus
    message: str
    compile_result: CommandRunResult | None = None
    run_result: CommandRunResult | None = None
    executor_pod_name: str | None = None
    files: dict[str, str] = {}


def to_execute_request(run: RunCodeRequest, languages: list[str]) -> pb.ExecuteRequest:
    """The Execute without tests that runs ``run``'s program; ValueError for a language the
    server does not run."""
    language = LANGUAGE_ALIASES.get(run.language, run.language)
    if language not in languages:
        aliases = {crucible: sf for sf, crucible in LANGUAGE_ALIASES.items()}
        known = ", ".join(
            f"{name} ({aliases[name]})" if name in aliases else name for name in languages
        )
        raise ValueError(f"language {run.language!r} is not run by this server; it runs {known}")
    limits = pb.Limits(cpu_time_limit_ms=run.run_timeout * 1000)
    if run.memory_limit_MB > 0:
        limits.memory_limit_bytes = run.memory_limit_MB << 20
    return pb.ExecuteRequest(
        language=language, source=run.code, stdin=run.stdin or "", limits=limits
    )


def to_run_code_response(verdict: pb.ExecuteResponse, language: str) -> RunCodeResponse:
    """SandboxFusion's answer for the verdict of an Execute without tests in ``language``
    (Crucible's name)."""
    status = verdict.status
    if status == _Status.SANDBOX_ERROR:
        message = verdict.error.message
        failed = CommandRunResult(status=CommandStatus.ERROR, stderr=message)
        return RunCodeResponse(status=RunStatus.SANDBOX_ERROR, message=message, run_result=failed)
    passed = status == _Status.PASSED
    overall = RunStatus.SUCCESS if passed else RunStatus.FAILED
    message = "" if passed else _message(verdict)
    diagnostic = _diagnostic(verdict)
    compiled = language in COMPILED
    before_run_s = max(verdict.wall_time_ms - verdict.run.wall_time_ms, 0.0) / 1000
    if status == _Status.COMPILE_ERROR:
        timed_out = verdict.error.type == "CompileTimeLimitExceeded"
        failed = CommandRunResult(
            status=CommandStatus.TIME_LIMIT_EXCEEDED if timed_out else CommandStatus.FINISHED,
            execution_time=before_run_s,
            return_code=None if timed_out else 1,
            stdout="",
            stderr=diagnostic,
        )
        if compiled:
            return RunCodeResponse(status=overall, message=message, compile_result=failed)
        return RunCodeResponse(status=overall, message=message, run_result=failed)
    run = verdict.run
    timed_out = status == _Status.TIME_LIMIT_EXCEEDED
    stderr = run.stderr
    if verdict.error.message not in stderr:
        stderr += diagnostic
    built = None
    if compiled:
        built = CommandRunResult(
            status=CommandStatus.FINISHED,
            execution_time=before_run_s,
            return_code=0,
            stdout="",
            stderr="",
        )
    result = CommandRunResult(
        status=CommandStatus.TIME_LIMIT_EXCEEDED if timed_out else CommandStatus.FINISHED,
        execution_time=run.wall_time_ms / 1000,
        return_code=None if timed_out else run.exit_code,
        stdout=run.stdout,
        stderr=stderr,
    )
    return RunCodeResponse(status=overall, message=message, compile_result=built, run_result=result)


def _message(verdict: pb.ExecuteResponse) -> str:
    name = _Status.Name(verdict.status)
    return f"{name}: {verdict.error.message}" if verdict.HasField("error") else name


def _diagnostic(verdict: pb.ExecuteResponse) -> str:
    """An exception or compile error the jail caught itself, as the language's runtime prints
    it: its traceback, then ``Type: message``. Empty for other verdicts: a bare non-zero exit
    or a limit prints nothing of its own."""
    error = verdict.error
    caught = verdict.status in (_Status.RUNTIME_ERROR, _Status.COMPILE_ERROR)
    if not caught or error.type in _BARE_EXITS:
        return ""
    where = f"line {error.line}: " if error.line > 0 and not error.traceback else ""
    traceback = f"{error.traceback}\n" if error.traceback else ""
    return f"{traceback}{where}{error.type}: {error.message}\n"


def run_code_route(context: HttpContext) -> Route:
    """``POST /run_code`` (see the module docstring). Input that is not a valid request is
    answered 422 with FastAPI's ``{"detail": [{"loc", "msg", "type"}]}``, as SandboxFusion's
    FastAPI server answers it; a body over the bound 413; a full queue 429 with SandboxFusion's
    body (``SandboxError`` naming the cause)."""
    engine = context.engine

    async def run_code(request: Request) -> Response:
        try:
            document = await context.json_body(request)
            run = RunCodeRequest.model_validate(document)
            message = to_execute_request(run, [lang.name for lang in engine.languages()])
        except HttpError as exc:
            context.refuse(ROUTE, exc, request)
            if exc.status == 413:
                return _detail(413, exc.failure.message, "body_too_large")
            return _detail(422, exc.failure.message, "json_invalid")
        except ValidationError as exc:
            context.refuse(ROUTE, HttpError(422, _describe(exc)), request)
            return JSONResponse({"detail": _details(exc)}, status_code=422)
        except ValueError as exc:
            context.refuse(ROUTE, HttpError(422, str(exc)), request)
            return _detail(422, str(exc), "value_error", ["body", "language"])
        outcome = await context.run(ROUTE, message, request)
        if isinstance(outcome, Failure):
            return _failure(outcome)
        answer = to_run_code_response(outcome, message.language)
        return JSONResponse(answer.model_dump(mode="json"))

    return Route("/run_code", run_code, methods=["POST"])


def _failure(failure: Failure) -> JSONResponse:
    """A request the engine did not run: invalid ones 422, the rest SandboxFusion's
    ``SandboxError`` with the HTTP status of the cause (429 for a full queue)."""
    if failure.code == grpc.StatusCode.INVALID_ARGUMENT:
        return _detail(422, failure.message, "value_error")
    status = HTTP_STATUS[failure.code]
    body = RunCodeResponse(status=RunStatus.SANDBOX_ERROR, message=failure.message)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 429 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _detail(
    status: int, message: str, kind: str, loc: list[str | int] | None = None
) -> JSONResponse:
    detail = [{"loc": loc or ["body"], "msg": message, "type": kind}]
    return JSONResponse({"detail": detail}, status_code=status)


def _details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ["body", *detail["loc"]], "msg": _reason(detail), "type": detail["type"]}
        for detail in error.errors()
    ]


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, detail['loc']))}: {_reason(detail)}" for detail in error.errors()
    )


def _reason(detail: Any) -> str:
    cause = detail.get("ctx", {}).get("error")
    return str(cause) if isinstance(cause, ValueError) else str(detail["msg"])
