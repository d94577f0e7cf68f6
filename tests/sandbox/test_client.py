"""The client against a real server on 127.0.0.1: typed results, which failures are retried and
which are not, batches over one stream, readiness, and round-robin over several servers.

The engine is the real one (the session's ``served_engine``) where a test needs no control over
timing or admission, and :class:`ControlledEngine` (see sandbox_harness.py for why) where it
does."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from real_engine import ServedEngine
from sandbox_harness import ControlledEngine, LoopThread, request, wait_until

from crucible.sandbox_service import client as client_module
from crucible.sandbox_service.client import (
    AsyncSandboxClient,
    RetryPolicy,
    SandboxClient,
    SandboxError,
    channel_target,
)
from crucible.sandbox_service.engine import EngineConfig
from crucible.sandbox_service.models import ExecuteRequest, IsolationMode, Language, Status
from crucible.sandbox_service.server import RunningServer, ServerOptions, start_server

pytestmark = pytest.mark.timeout(30)

Start = Callable[..., RunningServer]
FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)


def controlled(workers: int = 2, max_queue: int = 2, **kwargs: Any) -> ControlledEngine:
    return ControlledEngine(EngineConfig(workers=workers, max_queue=max_queue), **kwargs)


@pytest.fixture
def connect() -> Iterator[Callable[..., SandboxClient]]:
    """``connect(address, retry=FAST)``: a client closed after the test."""
    clients: list[SandboxClient] = []

    def make(address: str | list[str], retry: RetryPolicy = FAST) -> SandboxClient:
        clients.append(SandboxClient(address, retry=retry))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def unused_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def test_execute_returns_the_verdict_as_a_model(served_engine: ServedEngine, connect: Any) -> None:
    answer = connect(served_engine.address).execute(request(request_id="a"), timeout=30)
    assert (answer.request_id, answer.status, answer.passed_count) == ("a", Status.PASSED, 1)
    assert answer.isolation is IsolationMode.POOLED


def test_resource_exhausted_is_retried(start_controlled: Start, connect: Any) -> None:
    engine = controlled(busy_first=2)
    client = connect(start_controlled(engine).address)
    assert client.execute(request(request_id="a"), timeout=5).request_id == "a"
    assert engine.calls == 3


def test_a_request_beyond_grpcs_retry_buffer_is_retried(
    start_controlled: Start, connect: Any
) -> None:
    """gRPC's own retryPolicy would not retry this one: it is larger than gRPC's 256 KiB per-call
    retry buffer (the client module says why it retries by hand)."""
    engine = controlled(busy_first=2)
    client = connect(start_controlled(engine).address)
    large = request("pass" + " " * (300 << 10), request_id="large")
    assert client.execute(large, timeout=5).request_id == "large"
    assert engine.calls == 3


def test_retries_stop_after_max_attempts(start_controlled: Start, connect: Any) -> None:
    engine = controlled(busy_first=100)
    client = connect(start_controlled(engine).address)
    with pytest.raises(SandboxError) as caught:
        client.execute(request(), timeout=5)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert engine.calls == FAST.max_attempts


def test_invalid_argument_is_not_retried(start_controlled: Start, connect: Any) -> None:
    engine = controlled()
    client = connect(start_controlled(engine).address)
    with pytest.raises(SandboxError) as caught:
        client.execute(request(language="cobol"), timeout=5)
    assert caught.value.code == "INVALID_ARGUMENT" and "'cobol'" in caught.value.message
    assert str(caught.value).startswith("INVALID_ARGUMENT: ")
    assert engine.calls == 1


def test_deadline_exceeded_is_not_retried(start_controlled: Start, connect: Any) -> None:
    engine = controlled()
    client = connect(start_controlled(engine).address)
    with pytest.raises(SandboxError) as caught:
        client.execute(request("block"), timeout=0.3)
    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert engine.calls == 1


def test_unreachable_server_is_unavailable(connect: Any) -> None:
    client = connect(unused_address())
    with pytest.raises(SandboxError) as caught:
        client.execute(request(), timeout=5)
    assert caught.value.code == "UNAVAILABLE"


def test_unavailable_is_retried_until_a_server_appears(
    loop_thread: LoopThread, connect: Any
) -> None:
    address = unused_address()
    engine = controlled()
    servers: list[RunningServer] = []

    class ServerAfterTheFirstFailure(RetryPolicy):
        """Starts the server when the client asks for its first wait: after the first attempt
        failed (no server yet), before the second."""

        def delays(self) -> Iterator[float]:
            servers.append(loop_thread.run(start_server(engine, address, ServerOptions())))
            yield from super().delays()

    patient = ServerAfterTheFirstFailure(max_attempts=50, initial_backoff_s=0.05, max_backoff_s=0.2)
    try:
        assert connect(address, patient).execute(request(request_id="a"), timeout=10)
        assert (len(servers), engine.calls) == (1, 1)
    finally:
        for server in servers:
            loop_thread.run(server.stop(0))


def test_execute_many_yields_in_completion_order(start_controlled: Start, connect: Any) -> None:
    client = connect(start_controlled(controlled(workers=2)).address)
    requests = [request("sleep:0.3", "slow"), request("pass", "fast")]
    assert [v.request_id for v in client.execute_many(requests, timeout=5)] == ["fast", "slow"]


def test_execute_many_names_requests_without_an_id_by_position(
    served_engine: ServedEngine, connect: Any
) -> None:
    client = connect(served_engine.address)
    verdicts = client.execute_many([request(), request(), request(request_id="x")], timeout=30)
    assert sorted(v.request_id for v in verdicts) == ["0", "1", "x"]


def test_execute_many_refuses_duplicate_ids(served_engine: ServedEngine, connect: Any) -> None:
    client = connect(served_engine.address)
    with pytest.raises(ValueError, match="'x' is used twice"):
        list(client.execute_many([request(request_id="x"), request(request_id="x")], timeout=30))


def test_execute_many_resends_items_the_server_was_too_busy_for(
    start_controlled: Start, connect: Any
) -> None:
    engine = controlled(workers=1, busy_first=2)
    client = connect(start_controlled(engine).address)
    requests = [request(request_id=str(i)) for i in range(3)]
    assert sorted(v.request_id for v in client.execute_many(requests, timeout=5)) == ["0", "1", "2"]
    assert engine.calls == 5


def test_execute_many_raises_for_a_rejected_item(served_engine: ServedEngine, connect: Any) -> None:
    client = connect(served_engine.address)
    requests = [request(request_id="ok"), request(request_id="bad", language="cobol")]
    with pytest.raises(SandboxError) as caught:
        list(client.execute_many(requests, timeout=30))
    assert caught.value.code == "INVALID_ARGUMENT" and caught.value.request_id == "bad"


def test_execute_many_reraises_the_callers_iterable_error(
    served_engine: ServedEngine, connect: Any
) -> None:
    client = connect(served_engine.address)

    def requests() -> Iterator[ExecuteRequest]:
        yield request(request_id="a")
        raise RuntimeError("no more programs")

    with pytest.raises(RuntimeError, match="no more programs"):
        list(client.execute_many(requests(), timeout=30))


def test_leaving_execute_many_early_cancels_the_rest(start_controlled: Start, connect: Any) -> None:
    engine = controlled(workers=3)
    client = connect(start_controlled(engine).address)
    requests = [request("pass", "quick"), request("block", "b1"), request("block", "b2")]
    verdicts = client.execute_many(requests, timeout=5)
    assert next(verdicts).request_id == "quick"
    wait_until(lambda: len(engine.started) == 3)
    verdicts.close()
    wait_until(lambda: sorted(engine.cancelled) == ["b1", "b2"])
    assert engine.finished == ["quick"]


def test_execute_many_against_no_server_is_unavailable(connect: Any) -> None:
    with pytest.raises(SandboxError) as caught:
        list(connect(unused_address()).execute_many([request()], timeout=5))
    assert caught.value.code == "UNAVAILABLE"


def test_languages(served_engine: ServedEngine, connect: Any) -> None:
    languages: list[Language] = connect(served_engine.address).languages(5)
    assert languages == served_engine.engine.languages()


def test_wait_ready_returns_once_a_server_is_serving(
    served_engine: ServedEngine, connect: Any
) -> None:
    connect(served_engine.address).wait_ready(timeout=5)


class FakeClock:
    """Stands in for the client module's ``time``: it advances only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_ready_gives_up_after_its_timeout(
    connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(client_module, "time", clock)
    with pytest.raises(SandboxError) as caught:
        connect(unused_address()).wait_ready(timeout=0.3)
    assert caught.value.code == "UNAVAILABLE"
    assert "ready within 0.3 s" in caught.value.message
    # it polled on its own clock and gave up before sleeping past its timeout
    assert 0 < clock.now < 0.3


def test_several_addresses_are_balanced_round_robin(start_controlled: Start, connect: Any) -> None:
    engines = [controlled(), controlled()]
    addresses = [start_controlled(engine).address for engine in engines]
    client = connect(addresses)
    client.wait_ready(timeout=5)
    for _ in range(20):
        client.execute(request(), timeout=5)
    assert all(engine.calls > 0 for engine in engines)
    assert sum(engine.calls for engine in engines) == 20


def test_channel_target() -> None:
    assert channel_target("dns:///sandbox:50051") == "dns:///sandbox:50051"
    assert channel_target(["10.0.0.1:1"]) == "10.0.0.1:1"
    assert channel_target(["127.0.0.1:1", "127.0.0.2:2"]) == "ipv4:127.0.0.1:1,127.0.0.2:2"
    assert channel_target(["[::1]:1", "[::1]:2"]) == "ipv6:[::1]:1,[::1]:2"
    with pytest.raises(ValueError, match="is not host:port"):
        channel_target(["127.0.0.1", "127.0.0.1:2"])
    with pytest.raises(ValueError, match="mix IPv4-only and IPv6-only"):
        channel_target(["127.0.0.1:1", "[::1]:2"])


def test_async_client(served_engine: ServedEngine, loop_thread: LoopThread) -> None:
    async def use() -> tuple[Any, ...]:
        async with AsyncSandboxClient(served_engine.address, retry=FAST) as client:
            verdict_a = await client.execute(request(request_id="a"), timeout=30)
            languages = await client.languages(timeout=5)
            try:
                await client.execute(request(language="cobol"), timeout=30)
            except SandboxError as error:
                return verdict_a, languages, error.code
        raise AssertionError("the rejected request did not raise")

    verdict_a, languages, code = loop_thread.run(use(), timeout=60)
    assert (verdict_a.request_id, verdict_a.status) == ("a", Status.PASSED)
    assert (languages, code) == (served_engine.engine.languages(), "INVALID_ARGUMENT")


def test_unix_socket_address(loop_thread: LoopThread, tmp_path: Path, connect: Any) -> None:
    address = f"unix:{tmp_path}/sandbox.sock"
    server = loop_thread.run(start_server(controlled(), address, ServerOptions()))
    try:
        assert server.address == address
        assert connect(address).execute(request(request_id="u"), timeout=5).request_id == "u"
    finally:
        loop_thread.run(server.stop(0))
