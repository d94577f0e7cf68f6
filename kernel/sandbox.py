"""The kernel's access to the sandbox: remote servers by address, or an embedded engine.

Training code is synchronous (torch); the engine is asyncio. The embedded mode runs an engine with
pooled isolation on an event loop in a background thread, so executions overlap with generation:
:meth:`SandboxHandle.submit` returns futures at once and the loop collects them when it needs the
verdicts. Given addresses, the same calls go to running servers through the gRPC client, which
balances over several addresses.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal

from sandbox_service.client import SandboxClient
from sandbox_service.engine import Engine, EngineConfig
from sandbox_service.models import ExecuteRequest, ExecuteResponse


class SandboxHandle:
    """Submit execution requests; get verdicts back as futures. Use as a context manager."""

    def __init__(
        self,
        addresses: Sequence[str] = (),
        *,
        workers: int | None = None,
        isolation: Literal["strict", "pooled", "none"] = "pooled",
    ) -> None:
        self._client: SandboxClient | None = None
        self._engine: Engine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        if addresses:
            self._client = SandboxClient(list(addresses))
            self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="sandbox-rpc")
            self.description = f"remote {', '.join(addresses)}"
        else:
            config = EngineConfig(isolation=isolation, max_queue=1 << 20)
            if workers is not None:
                config = config.model_copy(update={"workers": workers})
            self._engine = Engine(config)
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name="sandbox-engine", daemon=True
            )
            self._thread.start()
            asyncio.run_coroutine_threadsafe(self._engine.start(), self._loop).result()
            self.description = f"embedded ({config.isolation}, {config.workers} workers)"

    def submit(self, requests: Sequence[ExecuteRequest]) -> list[Future[ExecuteResponse]]:
        """Start executing every request; one future per request, in request order."""
        if self._engine is not None and self._loop is not None:
            engine, loop = self._engine, self._loop
            return [
                asyncio.run_coroutine_threadsafe(engine.execute(request), loop)
                for request in requests
            ]
        assert self._client is not None and self._pool is not None
        client = self._client
        return [self._pool.submit(client.execute, request) for request in requests]

    def execute(self, requests: Sequence[ExecuteRequest]) -> list[ExecuteResponse]:
        """Execute every request and wait for all verdicts (request order)."""
        return [future.result() for future in self.submit(requests)]

    def close(self) -> None:
        if self._engine is not None and self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._engine.close(), self._loop).result()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._engine = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
