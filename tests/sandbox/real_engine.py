"""The real engine (real nsjail, no test doubles) for the verdict-level tests, and builders of
the requests they send.

:class:`LocalEngine` runs an :class:`Engine` in process on a private event loop, as
``crucible check`` does; :class:`ServedEngine` puts the same engine behind a real gRPC server on
127.0.0.1 and talks to it with the blocking client, as a trainer does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sandbox_harness import LoopThread

from crucible.sandbox_service.client import SandboxClient
from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    CheckerKind,
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    OutputChecker,
    StdioTest,
    TestCase,
)
from crucible.sandbox_service.server import RunningServer, ServerOptions, start_server

# Short limits: every test program either finishes at once or is meant to hit them.
LIMITS = Limits(
    cpu_time_limit_ms=1000.0,
    wall_time_limit_ms=3000.0,
    memory_limit_bytes=128 << 20,
    output_limit_bytes=1 << 20,
)


def assert_test(code: str, name: str = "") -> TestCase:
    return TestCase(name=name, body=AssertTest(code=code))


def call_test(
    function: str, args: list[Any], expected: Any, checker: OutputChecker | None = None
) -> TestCase:
    body = CallTest(
        function_name=function, args_json=json.dumps(args), expected_json=json.dumps(expected)
    )
    return TestCase(body=body, checker=checker)


def stdio_test(stdin: str, expected: str, checker: OutputChecker | None = None) -> TestCase:
    return TestCase(body=StdioTest(stdin=stdin, expected_stdout=expected), checker=checker)


def checker(kind: str, **tolerances: float) -> OutputChecker:
    return OutputChecker(kind=CheckerKind(kind.upper()), **tolerances)


def request(source: str, *tests: TestCase, **fields: Any) -> ExecuteRequest:
    """A request for ``source`` with the short LIMITS unless ``limits=`` says otherwise."""
    fields.setdefault("limits", LIMITS)
    return ExecuteRequest(source=source, tests=list(tests), **fields)


class LocalEngine:
    """An engine on its own event loop in this thread."""

    def __init__(
        self,
        isolation: str,
        workers: int = 2,
        python_packages: Path | None = None,
        preload_line_probes: bool = True,
    ) -> None:
        self.isolation = isolation
        self._loop = asyncio.new_event_loop()
        config = EngineConfig(
            workers=workers,
            isolation=isolation,
            python_packages=python_packages,
            preload_line_probes=preload_line_probes,
        )
        self.engine = Engine(config)
        self._loop.run_until_complete(self.engine.start())

    def run(self, req: ExecuteRequest) -> ExecuteResponse:
        return self._loop.run_until_complete(self.engine.execute(req))

    def run_all(self, requests: list[ExecuteRequest]) -> list[ExecuteResponse]:
        """Run ``requests`` concurrently (as many at once as the engine has workers)."""

        async def gather() -> list[ExecuteResponse]:
            return list(await asyncio.gather(*(self.engine.execute(r) for r in requests)))

        return self._loop.run_until_complete(gather())

    def close(self) -> None:
        self._loop.run_until_complete(self.engine.close())
        self._loop.close()


class ServedEngine:
    """The real engine behind a real gRPC server on 127.0.0.1:0 (and its HTTP front too, with
    ``http=True``), reached with the client."""

    def __init__(self, isolation: str, workers: int = 2, http: bool = False) -> None:
        self.isolation = isolation
        self._hosted = LoopThread()
        self.engine = Engine(EngineConfig(workers=workers, isolation=isolation))
        options = ServerOptions(http_address="127.0.0.1:0" if http else None)
        self.server: RunningServer = self._hosted.run(
            start_server(self.engine, "127.0.0.1:0", options)
        )
        self.address = self.server.address
        self.client = SandboxClient(self.address)

    def run(self, req: ExecuteRequest) -> ExecuteResponse:
        return self.client.execute(req, timeout=120.0)

    def close(self) -> None:
        self.client.close()
        self._hosted.run(self.server.stop(0))
        self._hosted.run(self.engine.close())
        self._hosted.close()
