"""Test doubles and helpers for the server and client tests (imported by conftest and tests).

The server mechanics under test (a full queue, cancellation reaching the engine, deadlines,
graceful shutdown) need programs whose timing the test decides, which real programs in a jail
cannot give deterministically. :class:`ControlledEngine` stands in for the engine there, and only
there; verdict contents are tested against the real engine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from crucible.sandbox_service.engine import Engine, EngineBusy, EngineConfig, RequestRejected
from crucible.sandbox_service.engine.verdict import build_response, uniform_results
from crucible.sandbox_service.models import (
    AssertTest,
    Capabilities,
    ErrorInfo,
    ExecuteRequest,
    ExecuteResponse,
    IsolationMode,
    Language,
    ResolvedLimits,
    Status,
    Subtype,
)

# Aliased so pytest does not try to collect the models as test classes.
from crucible.sandbox_service.models import TestCase as Case
from crucible.sandbox_service.models import TestResult as Result

T = TypeVar("T")

LIMITS = ResolvedLimits(
    cpu_time_limit_ms=1000.0,
    wall_time_limit_ms=4000.0,
    memory_limit_bytes=64 << 20,
    output_limit_bytes=1 << 20,
)
PYTHON = Language(
    name="python",
    runtime="CPython (controlled)",
    file_suffix=".py",
    capabilities=Capabilities(
        assert_tests=True,
        call_tests=True,
        stdio_tests=True,
        error_type=True,
        error_line=True,
        error_subtype=True,
        executed_lines=True,
        peak_memory=True,
        compile_step=True,
        executable_lines=True,
    ),
)


def request(source: str = "pass", request_id: str = "", language: str = "python") -> ExecuteRequest:
    """A one-test request; ``source`` tells :class:`ControlledEngine` what to do."""
    return ExecuteRequest(
        request_id=request_id,
        language=language,
        source=source,
        tests=[Case(name="t", body=AssertTest(code="assert True"))],
    )


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class ControlledEngine(Engine):
    """An engine whose timing the test controls; the request's ``source`` says what to do:

    - ``"pass"``: answer PASSED at once;
    - ``"block"``: run until :meth:`release` is called (or the task is cancelled);
    - ``"sleep:S"``: run for S seconds;
    - ``"sandbox_error"``: answer SANDBOX_ERROR at once (the sandbox failed the program);
    - ``"crash"``: raise RuntimeError (a bug of the engine's).

    Like the real engine it runs ``workers`` requests at once, admits ``max_queue`` more and
    raises EngineBusy beyond; unknown languages raise RequestRejected; the first ``busy_first``
    calls raise EngineBusy (to test retries). It records what was started, finished, cancelled.
    """

    def __init__(self, config: EngineConfig, busy_first: int = 0) -> None:
        # Not Engine.__init__: that probes for nsjail and cgroups, which nothing here uses.
        self.config = config
        self.busy_first = busy_first
        self.calls = 0
        self.running = 0
        self.max_running = 0
        self.started: list[str] = []
        self.finished: list[str] = []
        self.cancelled: list[str] = []
        self.closed = False
        self._admitted = 0
        self._gate = threading.Event()
        self._slots: asyncio.Semaphore | None = None

    def release(self) -> None:
        """Let every ``"block"`` request finish."""
        self._gate.set()

    def languages(self) -> list[Language]:
        return [PYTHON]

    async def execute(self, request: ExecuteRequest) -> ExecuteResponse:
        self.calls += 1
        if request.language != "python":
            raise RequestRejected(f"language {request.language!r} is not supported")
        if self.calls <= self.busy_first:
            raise EngineBusy("busy (controlled)")
        if self._admitted >= self.config.workers + self.config.max_queue:
            raise EngineBusy(f"{self._admitted} requests are running or queued")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.workers)
        self._admitted += 1
        try:
            async with self._slots:
                return await self._run(request)
        finally:
            self._admitted -= 1

    async def _run(self, request: ExecuteRequest) -> ExecuteResponse:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.started.append(request.request_id)
        try:
            if request.source == "block":
                while not self._gate.is_set():
                    await asyncio.sleep(0.005)
            elif request.source.startswith("sleep:"):
                await asyncio.sleep(float(request.source.removeprefix("sleep:")))
            elif request.source == "crash":
                raise RuntimeError("controlled crash")
        except asyncio.CancelledError:
            self.cancelled.append(request.request_id)
            raise
        finally:
            self.running -= 1
        self.finished.append(request.request_id)
        if request.source == "sandbox_error":
            return sandbox_error(request)
        return verdict(request)

    async def close(self) -> None:
        self.closed = True


def verdict(request: ExecuteRequest) -> ExecuteResponse:
    """The PASSED verdict :class:`ControlledEngine` gives ``request``."""
    return ExecuteResponse(
        request_id=request.request_id,
        status=Status.PASSED,
        pass_ratio=1.0,
        passed_count=len(request.tests),
        test_count=len(request.tests),
        tests=[
            Result(index=index, name=test.name, status=Status.PASSED)
            for index, test in enumerate(request.tests)
        ],
        isolation=IsolationMode.NONE,
        limits=LIMITS,
        runtime=PYTHON.runtime,
    )


def sandbox_error(request: ExecuteRequest) -> ExecuteResponse:
    """The SANDBOX_ERROR verdict :class:`ControlledEngine` gives a ``"sandbox_error"`` request,
    built as the engine builds one."""
    error = ErrorInfo(type="SandboxError", message="controlled failure", subtype=Subtype.IGNORE)
    names = [test.name for test in request.tests]
    return build_response(
        request_id=request.request_id,
        tests=uniform_results(len(names), Status.SANDBOX_ERROR, error, names),
        coverage=None,
        wall_time_ms=0.0,
        isolation=IsolationMode.NONE,
        limits=LIMITS,
        runtime=PYTHON.runtime,
    )


class LoopThread:
    """An asyncio event loop running in a daemon thread, for hosting grpc.aio servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()
