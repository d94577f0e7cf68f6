"""A fleet of servers behind one client (what docs/deploy.md promises a trainer): three real
``crucible sandbox serve`` processes on 127.0.0.1, one :class:`SandboxClient` balancing over
them, 3,000 requests on six concurrent batch streams while one server is SIGKILLed and another
drained (SIGTERM, as Kubernetes does to a pod it removes).

A draining server ends its batch streams once the items it took are answered, so the drained
server cancels nothing even though its grace period is shorter than the work left.

Every request gets exactly one verdict, and it is its own (each program prints its id); none is
lost or doubled; and no server runs a request again after its verdict reached the client (the
client resends only what was never answered).
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest
from live_server import LiveServer, live_server, wait_until

from crucible.kernel.sandbox import SandboxHandle
from crucible.sandbox_service.client import RetryPolicy, SandboxClient
from crucible.sandbox_service.models import ExecuteRequest, Status, StdioTest
from crucible.sandbox_service.models import TestCase as Case

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REQUESTS = 3000
STREAMS = 6
KILL_AFTER = 500  # verdicts delivered before the first server is SIGKILLed
DRAIN_AFTER = 1500  # ... and before the second is sent SIGTERM
# A dead server's streams are resent at once; patience only matters while no server is left
# for an item (never here: the third keeps serving).
# Shorter than the work left when the drain starts: a drain that kept taking items until the
# grace period ran out would have items cancelled (programs killed) on the drained server.
GRACE_S = 2
RETRY = RetryPolicy(max_attempts=30, initial_backoff_s=0.05, max_backoff_s=1.0)


def request(index: int) -> ExecuteRequest:
    return ExecuteRequest(
        request_id=f"r{index}",
        source=f"print({index})\n",
        tests=[Case(body=StdioTest(stdin="", expected_stdout=f"{index}\n"))],
    )


class Deliveries:
    """What the client handed back: when each request's verdict arrived, and any repeat."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.at: dict[str, float] = {}
        self.repeats: list[str] = []
        self.wrong: list[str] = []

    def record(self, request_id: str, status: Status) -> None:
        with self._lock:
            if request_id in self.at:
                self.repeats.append(request_id)
            self.at[request_id] = time.time()
            if status != Status.PASSED:
                self.wrong.append(f"{request_id}: {status.name}")

    def count(self) -> int:
        with self._lock:
            return len(self.at)


def test_a_fleet_loses_and_doubles_nothing_when_a_server_dies_and_another_drains(
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        servers: list[LiveServer] = []
        for name in ("killed", "drained", "survivor"):
            (tmp_path / name).mkdir()
            servers.append(
                stack.enter_context(
                    live_server(tmp_path / name, "--grace-period", str(GRACE_S), workers=1)
                )
            )
        killed, drained, _ = servers
        client = stack.enter_context(SandboxClient([s.address for s in servers], retry=RETRY))
        client.wait_ready(30)
        # round_robin balances only over servers it is connected to: warm up (bounded) until
        # every server has answered, so the streams below start spread over all three.
        warm_up = iter(range(REQUESTS, REQUESTS + 300))
        for _ in range(50):
            list(client.execute_many([request(next(warm_up)) for _ in range(STREAMS)]))
            if all(server.request_logs() for server in servers):
                break
        warmed = {server.address: len(server.request_logs()) for server in servers}
        deliveries = Deliveries()
        failures: list[BaseException] = []
        per_stream = REQUESTS // STREAMS

        def run(start: int) -> None:
            batch = (request(i) for i in range(start, start + per_stream))
            try:
                for verdict in client.execute_many(batch, timeout=500):
                    deliveries.record(verdict.request_id, verdict.status)
            except BaseException as exc:  # surfaced below, with the thread's context
                failures.append(exc)

        threads = [
            threading.Thread(target=run, args=(k * per_stream,), daemon=True)
            for k in range(STREAMS)
        ]
        for thread in threads:
            thread.start()
        wait_until(lambda: deliveries.count() >= KILL_AFTER, 300, f"{KILL_AFTER} verdicts")
        killed.process.kill()
        wait_until(lambda: deliveries.count() >= DRAIN_AFTER, 300, f"{DRAIN_AFTER} verdicts")
        assert drained.terminate(timeout=60) == 0
        for thread in threads:
            thread.join(timeout=500)

        assert failures == [], failures
        assert deliveries.repeats == []
        assert deliveries.wrong == []
        assert set(deliveries.at) == {f"r{i}" for i in range(REQUESTS)}
        # Every server took part before its end, so the faults hit streams in flight.
        for server in servers:
            served = len(server.request_logs()) - warmed[server.address]
            assert served > 0, f"{server.address} served nothing"
        # The drained server finished every item it took and cancelled none.
        assert {record["code"] for record in drained.request_logs()} == {"OK"}
        # No run finished after the client already held that request's verdict.
        late = [
            (record["request_id"], server.address)
            for server in servers
            for record in server.request_logs()
            if record["code"] == "OK"
            and record["request_id"] in deliveries.at  # not a warm-up request
            and datetime.fromisoformat(record["time"]).timestamp()
            > deliveries.at[record["request_id"]]
        ]
        assert late == []


def test_an_aged_connection_is_replaced_without_losing_a_request(tmp_path: Path) -> None:
    """``--max-connection-age`` makes the client reconnect (and so resolve the fleet's DNS name
    again): calls made after the age go over a new connection, and every batch still gets all
    its verdicts. Calls in flight keep their connection for the grace period."""
    batches, size = 60, 20
    answered: list[str] = []
    peers: set[str] = set()
    with (
        live_server(tmp_path, "--max-connection-age", "0.5", workers=1) as server,
        SandboxClient(server.address, retry=RETRY) as client,
    ):
        for batch in range(batches):
            indices = range(batch * size, (batch + 1) * size)
            for verdict in client.execute_many((request(i) for i in indices), timeout=60):
                assert verdict.status == Status.PASSED, verdict
                answered.append(verdict.request_id)
            peers = {record["peer"] for record in server.request_logs()}
            if len(peers) > 1:
                break
    assert len(peers) > 1, f"{batches} batches over one connection"
    assert sorted(answered) == sorted(f"r{i}" for i in range(len(answered)))


def test_one_execute_call_of_the_kernel_spreads_over_the_fleet(tmp_path: Path) -> None:
    """An evaluation's or CodeDPO's matrix is one ``SandboxHandle.execute`` call: its streams
    go to every server, and the verdicts come back in request order."""
    count = 300
    with ExitStack() as stack:
        servers = []
        for name in ("one", "two", "three"):
            (tmp_path / name).mkdir()
            servers.append(stack.enter_context(live_server(tmp_path / name, workers=1)))
        handle = stack.enter_context(SandboxHandle([s.address for s in servers], streams=6))
        # round_robin balances over the servers it is connected to; a fresh channel may not be
        # connected to all three yet. A trainer's handle lives for the run: warm this one up
        # until every server has answered once (bounded), as a long-lived handle would be.
        for _ in range(50):
            handle.execute([request(count + i) for i in range(6)])
            if all(server.request_logs() for server in servers):
                break
        before = [len(server.request_logs()) for server in servers]
        verdicts = handle.execute([request(i) for i in range(count)])
        served = [len(s.request_logs()) - b for s, b in zip(servers, before, strict=True)]
    assert [v.request_id for v in verdicts] == [f"r{i}" for i in range(count)]
    assert {v.status for v in verdicts} == {Status.PASSED}
    assert sum(served) == count
    assert min(served) > 0, served
