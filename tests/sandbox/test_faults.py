"""Faults, against a real ``crucible sandbox serve`` (pooled isolation, real nsjail) on 127.0.0.1:

- a worker SIGKILLed mid-execution: its request is retried (or gets SANDBOX_ERROR with a
  reason), the pool heals, later requests are unaffected;
- a cancelled, disconnected or expired request kills its program's processes;
- a program that exhausts tmpfs, file descriptors or pids affects only itself;
- a server shut down with requests in flight answers every one: a verdict, or a clean
  CANCELLED / UNAVAILABLE, and leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from live_server import LiveServer, live_server, wait_until

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service import wire
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Limits
from crucible.sandbox_service.models import TestCase as Case

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SLEEPER = "import time\ntime.sleep({seconds})\n"
SPINNER = "while True:\n    pass\n"
LONG = Limits(cpu_time_limit_ms=30_000, wall_time_limit_ms=60_000)


def program(
    request_id: str, source: str, test: str = "assert True", **extra: object
) -> pb.ExecuteRequest:
    request = ExecuteRequest(
        request_id=request_id, source=source, tests=[Case(body=AssertTest(code=test))], **extra
    )
    return wire.request_to_proto(request)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("faults"), workers=2, metrics=True) as served:
        yield served


@pytest.fixture
def stub(server: LiveServer) -> Iterator[pb_grpc.SandboxServiceStub]:
    server.wait_pool_idle()  # every test starts from a whole, idle pool
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.SandboxServiceStub(channel)


def restarts(server: LiveServer, reason: str) -> float:
    return server.scrape().get(("crucible_sandbox_worker_restarts_total", (("reason", reason),)), 0)


def assert_unaffected(stub: pb_grpc.SandboxServiceStub, count: int = 8) -> None:
    """``count`` fresh programs (each its own answer) all get the verdict they deserve."""
    for index in range(count):
        source = f"def f():\n    return {index}\n"
        reply = stub.Execute(
            program(f"after-{index}", source, f"assert f() == {index}"), timeout=30
        )
        assert reply.status == pb.Verdict.PASSED, reply


def running_programs(server: LiveServer, count: int) -> set[int]:
    """Wait until ``count`` programs run in the jails (one process each); their pids."""
    wait_until(lambda: len(server.program_pids()) >= count, 20, f"{count} programs running")
    return server.program_pids()


@pytest.mark.parametrize("target", ["harness", "nsjail"])
def test_worker_killed_mid_execution(
    server: LiveServer, stub: pb_grpc.SandboxServiceStub, target: str
) -> None:
    crashed_before = restarts(server, "crashed")
    victim: Future[pb.ExecuteResponse] = stub.Execute.future(
        program("victim", SLEEPER.format(seconds=1.5)), timeout=60
    )
    [pid] = running_programs(server, 1)
    harness = psutil.Process(pid).parent()
    assert harness is not None
    killed = harness if target == "harness" else harness.parent()
    assert killed is not None and (target == "harness" or killed.name() == "nsjail")
    os.kill(killed.pid, signal.SIGKILL)

    reply = victim.result(timeout=60)
    if reply.status == pb.Verdict.SANDBOX_ERROR:
        assert reply.error.message, "a SANDBOX_ERROR must say why"
    else:
        assert reply.status == pb.Verdict.PASSED  # retried on a healthy worker
    server.wait_pool_idle()  # healed: two idle workers, no stale cgroup of the killed jail
    assert restarts(server, "crashed") == crashed_before + 1
    assert_unaffected(stub)


def _cancel(stub: pb_grpc.SandboxServiceStub, server: LiveServer) -> Callable[[], None]:
    call = stub.Execute.future(program("cancelled", SPINNER, limits=LONG), timeout=60)
    return lambda: call.cancel() or None


def _disconnect(stub: pb_grpc.SandboxServiceStub, server: LiveServer) -> Callable[[], None]:
    channel = grpc.insecure_channel(server.address)
    call = pb_grpc.SandboxServiceStub(channel).Execute.future(
        program("disconnected", SPINNER, limits=LONG), timeout=60
    )

    def disconnect() -> None:
        channel.close()  # the connection goes; the call is never cancelled by itself
        assert call.exception(timeout=10) is not None

    return disconnect


def _deadline(stub: pb_grpc.SandboxServiceStub, server: LiveServer) -> Callable[[], None]:
    call = stub.Execute.future(program("expired", SPINNER, limits=LONG), timeout=1.5)

    def expire() -> None:
        with pytest.raises(grpc.RpcError) as error:
            call.result(timeout=30)
        assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    return expire


def _cancel_batch(stub: pb_grpc.SandboxServiceStub, server: LiveServer) -> Callable[[], None]:
    items = [
        pb.ExecuteBatchRequest(request=program(f"b{i}", SPINNER, limits=LONG)) for i in range(3)
    ]
    stream = stub.ExecuteBatch(iter(items), timeout=60)
    return lambda: stream.cancel() or None


@pytest.mark.parametrize(
    ("start", "programs"),
    [(_cancel, 1), (_disconnect, 1), (_deadline, 1), (_cancel_batch, 2)],
    ids=["cancel", "disconnect", "deadline", "batch-cancel"],
)
def test_abandoned_requests_kill_their_programs(
    server: LiveServer,
    stub: pb_grpc.SandboxServiceStub,
    start: Callable[[pb_grpc.SandboxServiceStub, LiveServer], Callable[[], None]],
    programs: int,
) -> None:
    abandon = start(stub, server)
    pids = running_programs(server, programs)
    abandon()
    wait_until(lambda: not any(psutil.pid_exists(pid) for pid in pids), 10, "programs killed")
    server.wait_pool_idle()
    assert_unaffected(stub, 4)


HOSTILE = {
    "tmpfs": """
import os
chunk = b"x" * (1 << 20)
try:
    with open("/tmp/fill", "wb") as handle:
        while True:
            handle.write(chunk)
except OSError:
    pass
for index in range(1000):
    try:
        open(f"/tmp/more-{index}", "w").close()
    except OSError:
        break
if os.fork() == 0:  # something that would hold the files, if it outlived the test
    import time
    time.sleep(60)
""",
    "fds": """
import os, time
def grab():
    held = []
    try:
        while True:
            held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        return held
held = grab()
for _ in range(8):
    if os.fork() == 0:
        grab()
        time.sleep(60)
""",
    "pids": """
import os, time
while True:
    try:
        os.fork()
    except OSError:
        break
time.sleep(60)
""",
}
CANARIES = [
    # needs most of the tmpfs
    """
import os
with open("/tmp/canary", "wb") as handle:
    handle.write(b"y" * (48 << 20))
assert os.path.getsize("/tmp/canary") == 48 << 20
leftovers = [name for name in os.listdir("/tmp") if name == "fill" or name.startswith("more-")]
assert not leftovers, leftovers
""",
    # needs descriptors
    """
import os
fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(200)]
assert len(set(fds)) == 200
""",
    # needs processes
    """
import os
kids = []
for _ in range(30):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
assert len(kids) == 30
""",
]


@pytest.mark.parametrize("resource", sorted(HOSTILE))
def test_exhausting_a_resource_affects_only_that_program(
    server: LiveServer, stub: pb_grpc.SandboxServiceStub, resource: str
) -> None:
    limits = Limits(cpu_time_limit_ms=2000, wall_time_limit_ms=3000)
    hostile = stub.Execute.future(program(resource, HOSTILE[resource], limits=limits), timeout=60)
    # while it runs, the other worker serves as usual
    for index, canary in enumerate(CANARIES):
        reply = stub.Execute(program(f"during-{index}", canary), timeout=60)
        assert reply.status == pb.Verdict.PASSED, reply
    verdict = hostile.result(timeout=60)
    assert verdict.status != pb.Verdict.SANDBOX_ERROR, verdict
    # afterwards both workers (the hostile one included) serve as usual: twice round the pool
    for index, canary in enumerate(CANARIES * 2):
        reply = stub.Execute(program(f"after-{index}", canary), timeout=60)
        assert reply.status == pb.Verdict.PASSED, reply
    server.wait_pool_idle()


def test_shutdown_with_requests_in_flight_loses_none(tmp_path: Path) -> None:
    with live_server(tmp_path, "--grace-period", "5", workers=2, metrics=True) as server:
        server.wait_pool_idle()
        channel = grpc.insecure_channel(server.address)
        stub = pb_grpc.SandboxServiceStub(channel)
        # running at SIGTERM: one ends within the grace period, one outlives it
        short = stub.Execute.future(program("short", SLEEPER.format(seconds=0.5)), timeout=60)
        endless = stub.Execute.future(
            program("endless", SLEEPER.format(seconds=60), limits=LONG), timeout=60
        )
        running_programs(server, 2)
        # queued behind them, and a batch stream
        queued = [
            stub.Execute.future(program(f"queued-{i}", SLEEPER.format(seconds=0.1)), timeout=60)
            for i in range(3)
        ]
        items = [
            pb.ExecuteBatchRequest(
                request=program(f"batch-{i}", SLEEPER.format(seconds=60), limits=LONG)
            )
            for i in range(3)
        ]
        stream = stub.ExecuteBatch(iter(items), timeout=60)
        wait_until(
            lambda: server.scrape()[("crucible_sandbox_queue_depth", ())] == 5,
            20,
            "3 queued requests and 2 batch items waiting in the engine",
        )
        server.process.send_signal(signal.SIGTERM)
        wait_until(lambda: _draining(channel), 20, "the server reports NOT_SERVING (draining)")
        late = stub.Execute.future(program("late", SLEEPER.format(seconds=0.1)), timeout=60)

        outcomes: dict[str, str] = {}
        for name, call in [("short", short), ("endless", endless), ("late", late)] + [
            (f"queued-{i}", call) for i, call in enumerate(queued)
        ]:
            outcomes[name] = _outcome(call)
        try:
            for reply in stream:
                assert reply.HasField("response"), reply
                outcomes[reply.request_id] = pb.Verdict.Status.Name(reply.response.status)
            stream_end = "OK"
        except grpc.RpcError as error:
            stream_end = error.code().name
        channel.close()
        assert server.process.wait(timeout=30) == 0

        clean = {"CANCELLED", "UNAVAILABLE"}
        assert outcomes["short"] == "PASSED", outcomes  # in flight, finished within the grace
        assert outcomes["endless"] in clean, outcomes
        assert all(outcome in clean | {"PASSED"} for outcome in outcomes.values()), outcomes
        assert stream_end in clean | {"OK"}
        logged = {str(line["request_id"]): line["code"] for line in server.request_logs()}
        for name, outcome in outcomes.items():
            if name in logged:  # requests that reached the servicer say how they ended
                assert (logged[name] == "OK") == (outcome == "PASSED"), (name, outcome, logged)
        assert {"short", "endless", "queued-0", "batch-0", "batch-1"} <= set(logged)
        server.assert_nothing_left()


def _draining(channel: grpc.Channel) -> bool:
    """Whether the server has begun its graceful shutdown: its health check no longer answers
    SERVING (it may already refuse the call)."""
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=wire.SERVICE_NAME), timeout=5
        )
    except grpc.RpcError:
        return True
    return reply.status != health_pb2.HealthCheckResponse.SERVING


def _outcome(call: Future[pb.ExecuteResponse]) -> str:
    try:
        return pb.Verdict.Status.Name(call.result(timeout=60).status)
    except grpc.RpcError as error:
        return str(error.code().name)
