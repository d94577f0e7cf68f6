"""Building, running and stopping the gRPC server (and its HTTP front, ``server.http``, on the
same engine); kept apart from the servicer so tests can host
a server on any engine and ``serve`` stays a thin process entry point.

Back-pressure is part of correctness (a sandbox that hangs under load is worse than one that says
"busy"), so every queue is bounded: the engine's queue answers RESOURCE_EXHAUSTED through
``EngineBusy``, and gRPC's ``maximum_concurrent_rpcs`` answers RESOURCE_EXHAUSTED for RPCs beyond
what the engine can hold plus a little headroom for health checks and listings (the HTTP front
gets the same bound on its connections).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.server.http import (
    HttpContext,
    HttpEndpoint,
    build_app,
    start_http_endpoint,
)
from crucible.sandbox_service.server.metrics import (
    MetricsEndpoint,
    ServerMetrics,
    split_host_port,
    start_metrics_endpoint,
)
from crucible.sandbox_service.server.reflection import enable_reflection
from crucible.sandbox_service.server.sandbox_fusion import run_code_route
from crucible.sandbox_service.server.servicer import SandboxServicer
from crucible.sandbox_service.wire import SERVICE_NAME

logger = logging.getLogger("crucible.sandbox.server")

# RPCs allowed beyond the engine's workers + queue: health checks, ListLanguages, batch streams.
_HEADROOM_RPCS = 32


class ServerOptions(BaseModel):
    """How the gRPC server bounds its work and stops; the engine's own knobs are EngineConfig."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrent_rpcs: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="RPCs served at once; beyond it gRPC answers RESOURCE_EXHAUSTED. "
        f"None = the engine's workers + max_queue + {_HEADROOM_RPCS}.",
    )
    max_message_bytes: Annotated[int, Field(ge=4 << 20, le=2**31 - 1)] = Field(
        default=64 << 20,
        description="Largest request or response message; gRPC's 4 MiB default is too small "
        "for stdio tests with large inputs.",
    )
    grace_period_s: Annotated[float, Field(ge=0)] = Field(
        default=10.0,
        description="On shutdown, how long in-flight RPCs may finish before they are cancelled "
        "(their programs killed, their callers told CANCELLED).",
    )
    batch_concurrency: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Programs one ExecuteBatch stream has in the engine at once. None = twice "
        "the engine's workers: one running in each worker and one waiting for it, so a worker "
        "that finishes starts the stream's next program at once instead of after the answer is "
        "written and the next item read; the stream takes at most `workers` places of the queue "
        "other callers share.",
    )
    max_connection_age_s: Annotated[float, Field(gt=0)] | None = Field(
        default=None,
        description="Close each client connection after this long (gRPC's GOAWAY; calls in "
        "flight may still finish for grace_period_s), so that clients resolve the server's DNS "
        "name again and spread over servers added since they connected (a fleet behind a "
        "headless Service). None keeps connections open.",
    )
    metrics_address: str | None = Field(
        default=None,
        description="host:port of an HTTP endpoint serving Prometheus metrics (port 0 picks a "
        "free port); None serves none.",
    )
    http_address: str | None = Field(
        default=None,
        description="host:port of the HTTP front (server.http: a JSON Execute; "
        "server.sandbox_fusion: SandboxFusion's run_code); port 0 picks a free port; None "
        "serves none. Its bodies are bounded by "
        "max_message_bytes and its connections by max_concurrent_rpcs.",
    )

    @field_validator("metrics_address", "http_address")
    @classmethod
    def _host_port(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            split_host_port(value, str(info.field_name))
        return value


@dataclass(frozen=True)
class RunningServer:
    """A started server: where it listens and how to stop it."""

    server: Any  # grpc.aio.Server (grpc ships no type information)
    health: Any  # grpc_health.aio.HealthServicer
    servicer: SandboxServicer
    address: str
    metrics: ServerMetrics
    metrics_endpoint: MetricsEndpoint | None = None
    http_endpoint: HttpEndpoint | None = None

    async def stop(self, grace_period_s: float) -> None:
        """Report NOT_SERVING (load balancers drain), end batch streams once their taken items
        are answered, refuse new RPCs and HTTP connections, let in-flight requests finish for
        ``grace_period_s``, then cancel the rest (which kills their programs). The metrics
        endpoint stays up until then, so the drain can be watched."""
        await self.health.enter_graceful_shutdown()
        self.servicer.drain()
        fronts = [self.server.stop(grace_period_s)]
        if self.http_endpoint is not None:
            fronts.append(self.http_endpoint.stop(grace_period_s))
        await asyncio.gather(*fronts)
        if self.metrics_endpoint is not None:
            await asyncio.to_thread(self.metrics_endpoint.stop)  # waits for its serving thread


async def start_server(
    engine: Engine, address: str, options: ServerOptions | None = None
) -> RunningServer:
    """Start serving ``engine`` on ``address`` (``host:port``, port 0 picking a free port, or
    ``unix:PATH``), metrics on ``options.metrics_address`` and the HTTP front on
    ``options.http_address`` if set.

    Raises RuntimeError when an address cannot be bound.
    """
    options = options or ServerOptions()
    metrics = ServerMetrics(engine)
    config = engine.config
    max_concurrent = (
        options.max_concurrent_rpcs or config.workers + config.max_queue + _HEADROOM_RPCS
    )
    channel_options: list[tuple[str, int]] = [
        ("grpc.max_receive_message_length", options.max_message_bytes),
        ("grpc.max_send_message_length", options.max_message_bytes),
        ("grpc.so_reuseport", 0),  # a second server on a busy port must fail, not share it
    ]
    if options.max_connection_age_s is not None:
        channel_options += [
            ("grpc.max_connection_age_ms", round(options.max_connection_age_s * 1000)),
            ("grpc.max_connection_age_grace_ms", round(options.grace_period_s * 1000)),
        ]
    server = grpc.aio.server(
        options=channel_options,
        maximum_concurrent_rpcs=max_concurrent,
    )
    servicer = SandboxServicer(engine, options.batch_concurrency or 2 * config.workers, metrics)
    # generated code is untyped
    pb_grpc.add_SandboxServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    health = grpc_health.aio.HealthServicer()
    for service in ("", SERVICE_NAME):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)

    enable_reflection((SERVICE_NAME, grpc_health.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    endpoint = None
    if options.metrics_address is not None:
        endpoint = start_metrics_endpoint(metrics.registry, options.metrics_address)
    http_endpoint = None
    try:
        if options.http_address is not None:
            context = HttpContext(engine, metrics, options.max_message_bytes)
            app = build_app(context, [run_code_route(context)])
            http_endpoint = await start_http_endpoint(app, options.http_address, max_concurrent)
        await server.start()
    except BaseException:
        if http_endpoint is not None:
            await http_endpoint.stop(0)
        if endpoint is not None:
            endpoint.stop()
        raise
    if not address.startswith("unix"):  # a socket path has no port to fill in
        address = f"{address.rsplit(':', 1)[0]}:{port}"
    return RunningServer(
        server=server,
        health=health,
        servicer=servicer,
        address=address,
        metrics=metrics,
        metrics_endpoint=endpoint,
        http_endpoint=http_endpoint,
    )


async def serve(
    address: str,
    engine_config: EngineConfig,
    options: ServerOptions | None = None,
    on_started: Callable[[RunningServer], None] | None = None,
) -> None:
    """Run a server until SIGTERM or SIGINT, then stop it gracefully and close the engine.

    ``on_started`` receives the started server (its bound addresses are useful with port 0).
    In-flight requests either finish within the grace period or are cancelled, so every caller
    gets an answer or a status.
    """
    options = options or ServerOptions()
    engine = Engine(engine_config)
    try:
        await engine.start()  # warm pooled workers before the first caller waits on them
        running = await start_server(engine, address, options)
        endpoint = running.metrics_endpoint
        http = running.http_endpoint
        fields = {
            "address": running.address,
            "metrics_url": endpoint and endpoint.url,
            "http_url": http and http.url,
        }
        logger.info("serving", extra={"fields": fields})
        if on_started is not None:
            on_started(running)
        await _wait_for_signal(signal.SIGTERM, signal.SIGINT)
        logger.info("shutting down", extra={"fields": {"grace_period_s": options.grace_period_s}})
        await running.stop(options.grace_period_s)
    finally:
        await engine.close()
    logger.info("stopped")


async def _wait_for_signal(*signals: signal.Signals) -> None:
    loop = asyncio.get_running_loop()
    received = asyncio.Event()
    for signum in signals:
        loop.add_signal_handler(signum, received.set)
    try:
        await received.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
