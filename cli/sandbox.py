"""``crucible sandbox``: run a sandbox server, list what a sandbox runs."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.console import Console

from crucible.cli.common import (
    EXIT_CODES_HELP,
    ExitCode,
    InsecureOption,
    IsolationOption,
    fail,
    resolve_isolation,
)
from crucible.cli.render import print_languages
from crucible.sandbox_service.client import SandboxClient, SandboxError
from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.models import Language
from crucible.sandbox_service.server import RunningServer, ServerOptions, serve
from crucible.sandbox_service.server.logs import configure_json_logging
from crucible.sandbox_service.wire import describe_validation_error

app = typer.Typer(
    name="sandbox",
    help="Run a sandbox server, or list the languages a sandbox runs.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Add the ``sandbox`` group to the root command."""
    root.add_typer(app)


LogLevel = Literal["debug", "info", "warning", "error"]


@app.command("serve", epilog=EXIT_CODES_HELP)
def serve_command(
    address: Annotated[
        str, typer.Option(help="host:port to listen on; port 0 picks a free port.")
    ] = "127.0.0.1:50051",
    workers: Annotated[
        int | None,
        typer.Option(
            help="Programs run at once (default: the number of CPUs).", show_default=False
        ),
    ] = None,
    isolation: IsolationOption = None,
    max_queue: Annotated[
        int,
        typer.Option(help="Requests that may wait for a worker; beyond, RESOURCE_EXHAUSTED."),
    ] = 1024,
    grace_period: Annotated[
        float,
        typer.Option(metavar="S", help="On SIGTERM/SIGINT, seconds in-flight requests may finish."),
    ] = 10.0,
    max_concurrent_rpcs: Annotated[
        int | None,
        typer.Option(
            help="RPCs served at once; beyond, RESOURCE_EXHAUSTED (default: workers + "
            "max queue + 32).",
            show_default=False,
        ),
    ] = None,
    max_connection_age: Annotated[
        float | None,
        typer.Option(
            metavar="S",
            help="Close each client connection after S seconds (calls in flight may finish "
            "within the grace period), so clients re-resolve a DNS name and reach servers added "
            "since (a fleet behind a headless Service; docs/deploy.md). Default: never.",
            show_default=False,
        ),
    ] = None,
    metrics_address: Annotated[
        str | None,
        typer.Option(
            metavar="HOST:PORT",
            help="Also serve Prometheus metrics over HTTP here, e.g. 127.0.0.1:9464 (port 0 "
            "picks a free port): requests by RPC and status code, verdicts by status, queue "
            "depth, programs in flight, workers, worker restarts, a latency histogram.",
            show_default=False,
        ),
    ] = None,
    http_address: Annotated[
        str | None,
        typer.Option(
            metavar="HOST:PORT",
            help="Also serve HTTP here, e.g. 127.0.0.1:8080 (port 0 picks a free port): "
            "POST /v1/execute (ExecuteRequest in the proto's JSON mapping), SandboxFusion's "
            "POST /run_code and GET /v1/ping, on the same engine, queue, metrics and logs.",
            show_default=False,
        ),
    ] = None,
    python_packages: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="A directory of Python packages programs may import, bound read-only into "
            "every jail, e.g. made with: pip install --target DIR numpy (default: the standard "
            "library only).",
            show_default=False,
        ),
    ] = None,
    lazy_line_probes: Annotated[
        bool,
        typer.Option(
            "--lazy-line-probes",
            help="Pooled workers load Python's line probes (slipcover) for their first "
            "coverage job instead of at start: about 0.1 ms less CPU per test while no "
            "coverage is asked, but a test's CPU time then depends on whether its worker served "
            "a coverage job before. Isolation is the same.",
        ),
    ] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            help="Least severe log lines written: info writes one per request; warning leaves "
            "those out (a server answering hundreds of requests a second writes as many lines, "
            "and each costs CPU: docs/deploy.md) and keeps failures of the sandbox itself.",
        ),
    ] = "info",
    insecure_no_sandbox: InsecureOption = False,
) -> None:
    """Serve the sandbox over gRPC until SIGTERM or SIGINT.

    Serves crucible.sandbox.v1.SandboxService with gRPC health checking and reflection, prints
    "listening on HOST:PORT" to stdout once bound (then "metrics on URL" with
    --metrics-address and "http on URL" with --http-address), and logs one JSON line per
    request to stderr (request_id, method, code, status, duration_ms) unless --log-level is
    above info.
    """
    mode = resolve_isolation(isolation, insecure_no_sandbox)
    try:
        config = EngineConfig(
            isolation=mode,
            max_queue=max_queue,
            python_packages=python_packages,
            preload_line_probes=not lazy_line_probes,
            **({} if workers is None else {"workers": workers}),
        )
        options = ServerOptions(
            grace_period_s=grace_period,
            max_concurrent_rpcs=max_concurrent_rpcs,
            max_connection_age_s=max_connection_age,
            metrics_address=metrics_address,
            http_address=http_address,
        )
    except ValidationError as exc:
        fail(ExitCode.BAD_INPUT, describe_validation_error(exc))
    configure_json_logging(logging.getLevelNamesMapping()[log_level.upper()])

    def announce(running: RunningServer) -> None:
        # stdout, for scripts that started us on port 0
        typer.echo(f"listening on {running.address}")
        if running.metrics_endpoint is not None:
            typer.echo(f"metrics on {running.metrics_endpoint.url}")
        if running.http_endpoint is not None:
            typer.echo(f"http on {running.http_endpoint.url}")

    try:
        asyncio.run(serve(address, config, options, on_started=announce))
    except RuntimeError as exc:  # no jail on this host, or an address cannot be bound
        fail(ExitCode.UNAVAILABLE, f"cannot serve on {address}: {exc}")


@app.command("languages", epilog=EXIT_CODES_HELP)
def languages_command(
    server: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Ask this server (default: this installation's engine)."
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON array of languages.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(metavar="S", help="Seconds to wait for the server.")
    ] = 10.0,
) -> None:
    """List the languages a sandbox runs and which verdict fields each fills."""
    languages = _remote_languages(server, timeout) if server else _local_languages()
    if json_output:
        typer.echo(json.dumps([language.model_dump(mode="json") for language in languages]))
    else:
        print_languages(Console(), languages)


def _remote_languages(server: str, timeout: float) -> list[Language]:
    try:
        with SandboxClient(server) as client:
            return client.languages(timeout=timeout)
    except SandboxError as exc:
        fail(ExitCode.UNAVAILABLE, f"server {server}: {exc}")


def _local_languages() -> list[Language]:
    # Listing runs nothing, so the engine needs no jail here.
    engine = Engine(EngineConfig(workers=1, isolation="none"))
    try:
        return engine.languages()
    finally:
        asyncio.run(engine.close())
