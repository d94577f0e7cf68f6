"""The kernel's access to the sandbox: remote servers by address, or an embedded engine.

Training code is synchronous (torch); the engine is asyncio. The embedded mode runs an engine with
pooled isolation on an event loop in a background thread, so executions overlap with generation:
:meth:`SandboxHandle.submit` returns futures at once and the loop collects them when it needs the
verdicts. Given addresses, the same calls go to running servers through the gRPC client, which
balances over several addresses.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Literal

from crucible.kernel.usage import METER
from crucible.sandbox_service.client import SandboxClient
from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.models import ExecuteRequest, ExecuteResponse


class SandboxHandle:
    """Submit execution requests; get verdicts back as futures. Use as a context manager."""

    def __init__(
        self,
        addresses: Sequence[str] = (),
        *,
        workers: int | None = None,
        isolation: Literal["strict", "pooled", "none"] = "pooled",
        streams: int = 8,
    ) -> None:
        """``streams``: concurrent ExecuteBatch streams one :meth:`execute` call uses with
        remote servers. A stream is one call, so it runs on one server: behind one name of a
        fleet (``dns:///…``, balanced round robin), a batch is served by up to this many."""
        if streams < 1:
            raise ValueError(f"streams must be at least 1, got {streams}")
        self._streams = streams
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
        """Start executing every request; one future per request, in request order. Each
        verdict's status is counted in :data:`kernel.usage.METER` when it arrives."""
        futures: list[Future[ExecuteResponse]]
        if self._engine is not None and self._loop is not None:
            engine, loop = self._engine, self._loop
            futures = [
                asyncio.run_coroutine_threadsafe(engine.execute(request), loop)
                for request in requests
            ]
        else:
            assert self._client is not None and self._pool is not None
            client = self._client
            futures = [self._pool.submit(client.execute, request) for request in requests]
        for future in futures:
            future.add_done_callback(_count_status)
        return futures

    def execute(
        self,
        requests: Sequence[ExecuteRequest],
        on_verdict: Callable[[], None] | None = None,
    ) -> list[ExecuteResponse]:
        """Execute every request and wait for all verdicts (request order).

        Remote servers get them over ExecuteBatch streams (the batch API: calls that fill the
        servers' queues, as an evaluator submits a whole matrix of programs), the requests dealt
        out over up to ``streams`` of them. A stream needs unique request ids, so each request
        travels under its position and its verdict comes back under the caller's id.
        ``on_verdict`` is called (in this thread) once per verdict as it arrives: a progress
        bar's hook."""
        began = time.perf_counter()
        if self._client is None:
            futures = self.submit(requests)
            if on_verdict is not None:
                for _ in as_completed(futures):
                    on_verdict()
            done = [future.result() for future in futures]
            METER.waited_for_sandbox(time.perf_counter() - began)
            return done
        keyed = [r.model_copy(update={"request_id": str(i)}) for i, r in enumerate(requests)]
        client, pool = self._client, self._pool
        assert pool is not None
        arrived: queue.Queue[ExecuteResponse | Exception] = queue.Queue()

        def stream(part: list[ExecuteRequest]) -> None:
            try:
                for verdict in client.execute_many(part):
                    arrived.put(verdict)
            except Exception as exc:  # re-raised in the caller's thread below
                arrived.put(exc)

        for k in range(min(self._streams, len(keyed))):
            pool.submit(stream, keyed[k :: self._streams])
        verdicts: dict[int, ExecuteResponse] = {}
        while len(verdicts) < len(keyed):
            item = arrived.get()
            if isinstance(item, Exception):
                raise item
            verdicts[int(item.request_id)] = item
            if on_verdict is not None:
                on_verdict()
        METER.waited_for_sandbox(time.perf_counter() - began)
        for verdict in verdicts.values():
            METER.verdict(verdict.status.value)
        return [
            verdicts[i].model_copy(update={"request_id": request.request_id})
            for i, request in enumerate(requests)
        ]

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


def _count_status(future: Future[ExecuteResponse]) -> None:
    if not future.cancelled() and future.exception() is None:
        METER.verdict(future.result().status.value)
