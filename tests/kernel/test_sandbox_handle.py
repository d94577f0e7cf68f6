"""The kernel's sandbox handle against a real gRPC server on 127.0.0.1: ``execute`` sends a whole
list of requests over ExecuteBatch streams and gives the verdicts back in request order under
the caller's request ids (duplicated or empty ones included). tests/sandbox/test_fleet.py shows
the streams spreading over several servers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from crucible.kernel.sandbox import SandboxHandle
from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Status, TestCase
from crucible.sandbox_service.server import RunningServer, start_server


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine: object) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()  # type: ignore[arg-type]

    engine = Engine(EngineConfig(isolation="pooled", workers=2))
    run(engine.start())
    running = run(start_server(engine, "127.0.0.1:0"))
    assert isinstance(running, RunningServer)
    yield running
    run(running.stop(0))
    run(engine.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def _request(request_id: str, source: str) -> ExecuteRequest:
    test = TestCase(body=AssertTest(code="assert f() == 1"))
    return ExecuteRequest(request_id=request_id, source=source, tests=[test])


def test_execute_streams_one_batch_and_keeps_order_and_ids(server: RunningServer) -> None:
    sources = [f"def f():\n    return {value}\n" for value in (1, 2, 1, 0, 1)]
    ids = ["same", "same", "", "x", "y"]
    with SandboxHandle([server.address]) as handle:
        verdicts = handle.execute([_request(i, s) for i, s in zip(ids, sources, strict=True)])
    assert [v.request_id for v in verdicts] == ids
    assert [v.status for v in verdicts] == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
    ]
    batched = server.metrics.registry.get_sample_value(
        "crucible_sandbox_requests_total", {"method": "ExecuteBatch", "code": "OK"}
    )
    unary = server.metrics.registry.get_sample_value(
        "crucible_sandbox_requests_total", {"method": "Execute", "code": "OK"}
    )
    assert batched == 5 and unary is None


@pytest.mark.parametrize("remote", [True, False], ids=["server", "embedded"])
def test_execute_reports_each_verdict_as_it_arrives(server: RunningServer, remote: bool) -> None:
    requests = [_request(str(i), f"def f():\n    return {i % 2}\n") for i in range(6)]
    seen: list[int] = []
    with SandboxHandle([server.address] if remote else [], workers=1) as handle:
        verdicts = handle.execute(requests, on_verdict=lambda: seen.append(len(seen)))
    assert len(seen) == len(verdicts) == 6
