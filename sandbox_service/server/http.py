"""The HTTP front of a sandbox server (``--http-address``): a JSON form of ``Execute`` for curl
users and SandboxFusion's ``/run_code`` (:mod:`.sandbox_fusion`), served by Starlette on uvicorn
in the gRPC server's process and event loop, on the same engine.

Every request goes through :func:`server.dispatch.answer`, so HTTP callers meet the gRPC path's
validation, engine queue, metrics (``method`` is the route, e.g. ``POST /v1/execute``) and log
line. What is HTTP's own:

- bodies are read up to ``max_body_bytes``; a larger one is answered 413 before it is parsed;
- uvicorn's ``limit_concurrency`` bounds the open connections (and requests) at once by the
  number gRPC's ``maximum_concurrent_rpcs`` bounds RPCs by (beyond it uvicorn answers 503);
- canonical status codes become HTTP statuses (:data:`HTTP_STATUS`): INVALID_ARGUMENT 400,
  RESOURCE_EXHAUSTED 429 (the engine's queue is full), INTERNAL 500.

uvicorn's own signal handling and ``serve`` loop are not used: the process's ``serve`` owns the
signals and stops both fronts, so the server is started and stopped by hand
(:func:`start_http_endpoint`, :meth:`HttpEndpoint.stop`).
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
from dataclasses import dataclass
from typing import Any

import grpc
import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox_service.engine import Engine
from crucible.sandbox_service.server.dispatch import Failure, Outcome, answer, refuse
from crucible.sandbox_service.server.metrics import ServerMetrics, split_host_port

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.INTERNAL: 500,
}
# Seconds a client told 429 should wait before sending again.
RETRY_AFTER_S = 1


class HttpError(Exception):
    """A request answered with an HTTP error before it reached the engine."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.failure = Failure(grpc.StatusCode.INVALID_ARGUMENT, message)


@dataclass(frozen=True)
class HttpContext:
    """What every route needs: the engine, the server's metrics, the body bound."""

    engine: Engine
    metrics: ServerMetrics
    max_body_bytes: int

    async def json_body(self, request: Request) -> Any:
        """The body parsed as JSON: 413 as soon as it is known to exceed the bound, 400 naming
        the position of a syntax error."""
        raw = await self._body(request)
        try:
            return json.loads(raw.decode())
        except UnicodeDecodeError as exc:
            raise HttpError(400, f"the request body is not UTF-8: {exc.reason}") from None
        except json.JSONDecodeError as exc:
            raise HttpError(
                400,
                f"the request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            ) from None

    async def run(self, route: str, message: pb.ExecuteRequest, request: Request) -> Outcome:
        """Run ``message`` through the shared request path: the verdict or the failure."""
        return await answer(
            self.engine, self.metrics, route, message, _peer(request), lambda: "CANCELLED"
        )

    def refuse(self, route: str, error: HttpError, request: Request) -> Failure:
        """Count and log a request refused before it reached the engine."""
        return refuse(self.metrics, route, error.failure, _peer(request))

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large(f"is {int(declared)} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large(f"exceeds {self.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, size: str) -> HttpError:
        return HttpError(
            413,
            f"the request body {size}; this server accepts at most {self.max_body_bytes} bytes",
        )


def _peer(request: Request) -> str:
    client = request.client
    return f"{client.host}:{client.port}" if client else "unknown"


def error_response(status: int, code: grpc.StatusCode, message: str) -> JSONResponse:
    """The error body of the Crucible routes: ``{"error": {"code", "status", "message"}}``
    (Google's JSON error shape: the HTTP status and the canonical code's name)."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 429 else None
    body = {"error": {"code": status, "status": code.name, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def execute_route(context: HttpContext) -> Route:
    """``POST /v1/execute``: an ExecuteRequest in the proto's JSON mapping (field names as in
    the proto or lowerCamelCase, enums by name, int64 as strings or numbers), answered by the
    ExecuteResponse in the same mapping with proto field names and every field present."""
    route = "POST /v1/execute"

    async def execute(request: Request) -> Response:
        message = pb.ExecuteRequest()
        try:
            json_format.ParseDict(await context.json_body(request), message)
        except HttpError as exc:
            failure = context.refuse(route, exc, request)
            return error_response(exc.status, failure.code, failure.message)
        except json_format.ParseError as exc:
            error = HttpError(400, f"ExecuteRequest: {exc}")
            failure = context.refuse(route, error, request)
            return error_response(400, failure.code, failure.message)
        outcome = await context.run(route, message, request)
        if isinstance(outcome, Failure):
            return error_response(HTTP_STATUS[outcome.code], outcome.code, outcome.message)
        return JSONResponse(proto_json(outcome))

    return Route("/v1/execute", execute, methods=["POST"])


def proto_json(message: Any) -> dict[str, Any]:
    """A message in the proto's JSON mapping, with proto field names and defaults present."""
    document: dict[str, Any] = json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True, preserving_proto_field_name=True
    )
    return document


async def _ping(request: Request) -> Response:
    """``GET /v1/ping``: "pong" (SandboxFusion's liveness probe)."""
    return JSONResponse("pong")


def build_app(context: HttpContext, extra_routes: list[Route] | None = None) -> Starlette:
    """The ASGI application: ping, the JSON Execute, and ``extra_routes``."""
    routes = [Route("/v1/ping", _ping, methods=["GET"]), execute_route(context)]
    return Starlette(routes=[*routes, *(extra_routes or [])])


@dataclass(frozen=True)
class HttpEndpoint:
    """A running HTTP front: where it listens and how to stop it."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    address: str

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    async def stop(self, grace_period_s: float) -> None:
        """Stop accepting connections, let requests in flight finish for ``grace_period_s``,
        then cancel the rest (which kills their programs)."""
        self.server.config.timeout_graceful_shutdown = math.ceil(grace_period_s)
        self.server.should_exit = True
        await self.task


async def start_http_endpoint(app: Starlette, address: str, max_concurrency: int) -> HttpEndpoint:
    """Serve ``app`` on ``address`` (``host:port``, port 0 picking a free port) in this event
    loop. Raises RuntimeError when the address cannot be bound."""
    host, port = split_host_port(address, "http_address")
    try:
        sock = socket.create_server((host, port), family=_family(host))
    except OSError as exc:
        raise RuntimeError(f"cannot serve HTTP on {address}: {exc}") from exc
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        # uvicorn refuses a request when the open connections, its own included, reach the
        # limit: one more than the bound lets exactly ``max_concurrency`` be served at once.
        limit_concurrency=max_concurrency + 1,
    )
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    task = asyncio.create_task(_serve_until_stopped(server, sock))
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return HttpEndpoint(server=server, task=task, address=f"{shown}:{bound_port}")


async def _serve_until_stopped(server: uvicorn.Server, sock: socket.socket) -> None:
    await server.main_loop()
    await server.shutdown(sockets=[sock])


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
