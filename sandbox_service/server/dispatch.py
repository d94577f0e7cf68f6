"""One request's life on any front (gRPC or HTTP): run it on the engine, turn every failure into
a canonical status code, then count and log it however it ended.

Both fronts call :func:`answer`, so a request sent over HTTP meets the same validation, the same
engine queue (``EngineBusy`` is RESOURCE_EXHAUSTED) and the same metrics and log line as one sent
over gRPC; only the translation of the outcome into the front's own answer differs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox_service import wire
from crucible.sandbox_service.engine import Engine, EngineBusy, RequestRejected
from crucible.sandbox_service.server.metrics import ServerMetrics

logger = logging.getLogger("crucible.sandbox.server")


@dataclass(frozen=True)
class Failure:
    """Why a request has no verdict, as a canonical status."""

    code: grpc.StatusCode
    message: str


Outcome = pb.ExecuteResponse | Failure

# Verdict status numbers -> names, looked up once per request instead of through the enum.
_STATUS_NAMES = {value.number: value.name for value in pb.Verdict.Status.DESCRIPTOR.values}
# What the log line of a request that has none reads its fields from.
_NO_REQUEST = pb.ExecuteRequest()


async def answer(
    engine: Engine,
    metrics: ServerMetrics,
    method: str,
    message: pb.ExecuteRequest | None,
    peer: str,
    cancelled_code: Callable[[], str],
) -> Outcome:
    """Run one request (``None``: a batch item without one) and count and log it however it
    ends. ``cancelled_code`` names the code of a request whose task was cancelled (the front
    knows whether a deadline or the caller did it)."""
    started = time.perf_counter()
    outcome: Outcome | None = None
    try:
        if message is None:
            outcome = Failure(grpc.StatusCode.INVALID_ARGUMENT, "request is not set")
        else:
            outcome = await _execute(engine, message)
        return outcome
    finally:
        duration_s = time.perf_counter() - started
        code = _code(outcome) or cancelled_code()
        status = _STATUS_NAMES[outcome.status] if isinstance(outcome, pb.ExecuteResponse) else None
        metrics.observe(method, code, status, duration_s)
        _log_request(method, message or _NO_REQUEST, outcome, code, status, duration_s, peer)


def refuse(metrics: ServerMetrics, method: str, failure: Failure, peer: str) -> Failure:
    """Count and log a request refused before it could be read as an ExecuteRequest (an HTTP
    body that is not JSON, or too large), as :func:`answer` does for the others."""
    code = failure.code.name
    metrics.observe(method, code, None, 0.0)
    _log_request(method, _NO_REQUEST, failure, code, None, 0.0, peer)
    return failure


async def _execute(engine: Engine, message: pb.ExecuteRequest) -> Outcome:
    try:
        verdict = await engine.execute(wire.request_from_proto(message))
    except (wire.InvalidRequest, RequestRejected) as exc:
        return Failure(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    except EngineBusy as exc:
        return Failure(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            str(exc) or "the execution queue is full; retry later",
        )
    except Exception:  # a bug: keep serving, tell the caller, keep the traceback in the log
        logger.exception("engine failed", extra={"fields": {"request_id": message.request_id}})
        return Failure(grpc.StatusCode.INTERNAL, "the sandbox failed; see the server log")
    return wire.response_to_proto(verdict)


def _code(outcome: Outcome | None) -> str | None:
    """The canonical status code a request ended with; None when it was cancelled."""
    if isinstance(outcome, pb.ExecuteResponse):
        return "OK"
    if isinstance(outcome, Failure):
        name: str = outcome.code.name
        return name
    return None


def _log_request(
    method: str,
    message: pb.ExecuteRequest,
    outcome: Outcome | None,
    code: str,
    status: str | None,
    duration_s: float,
    peer: str,
) -> None:
    """The request's log line; ``status``: its verdict's, when it has one. Its level is
    WARNING when the sandbox failed the request (an INTERNAL error, a SANDBOX_ERROR verdict:
    ours to fix), so that a server logging at WARNING still says so, and INFO otherwise."""
    failed = code == "INTERNAL" or status == "SANDBOX_ERROR"
    level = logging.WARNING if failed else logging.INFO
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "event": "request",
        "method": method,
        "request_id": message.request_id,
        "language": message.language,
        "test_count": len(message.tests),
        "code": code,
        "duration_ms": round(duration_s * 1000, 3),
        "peer": peer,
    }
    if isinstance(outcome, pb.ExecuteResponse):
        fields["status"] = status
        fields["cpu_time_ms"] = outcome.cpu_time_ms
        fields["wall_time_ms"] = outcome.wall_time_ms
        if outcome.HasField("error"):
            fields["error_type"] = outcome.error.type
            if outcome.status == pb.Verdict.Status.SANDBOX_ERROR:  # ours to fix: say why
                fields["error"] = outcome.error.message[:1000]
    elif isinstance(outcome, Failure):
        fields["error"] = outcome.message
    logger.log(level, "request finished", extra={"fields": fields})
