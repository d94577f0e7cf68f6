"""The HTTP front's mechanics through a real HTTP client (httpx) on 127.0.0.1: the JSON Execute,
bad JSON, oversized bodies, a full engine queue, the connection bound, metrics and logs.

The engine is the real one (the session's ``served_engine``) where a test needs no control over
timing, admission or the server's options, and :class:`ControlledEngine` (see sandbox_harness.py
for why) where it does; verdicts of real programs over HTTP are compared with gRPC's in
test_http_live.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from real_engine import ServedEngine
from sandbox_harness import ControlledEngine, request, verdict, wait_until

from crucible.sandbox_service import wire
from crucible.sandbox_service.engine import EngineConfig
from crucible.sandbox_service.server import RunningServer
from crucible.sandbox_service.server.http import proto_json

pytestmark = pytest.mark.timeout(30)

Start = Callable[..., RunningServer]
MIB = 1 << 20


def controlled(workers: int = 2, max_queue: int = 2) -> ControlledEngine:
    return ControlledEngine(EngineConfig(workers=workers, max_queue=max_queue))


def body(source: str = "pass", request_id: str = "") -> dict[str, Any]:
    """An ExecuteRequest in the proto's JSON mapping."""
    return proto_json(wire.request_to_proto(request(source, request_id)))


@pytest.fixture
def http(start_controlled: Start) -> Iterator[Callable[..., tuple[RunningServer, httpx.Client]]]:
    """``http(engine, **server_options)``: a server with its HTTP front on 127.0.0.1:0 and a
    client of that front (closed after the test)."""
    clients: list[httpx.Client] = []

    def start(engine: ControlledEngine, **options: Any) -> tuple[RunningServer, httpx.Client]:
        server = start_controlled(engine, http_address="127.0.0.1:0", **options)
        assert server.http_endpoint is not None
        client = httpx.Client(base_url=server.http_endpoint.url, timeout=10)
        clients.append(client)
        return server, client

    yield start
    for client in clients:
        client.close()


def requests_counted(server: RunningServer, route: str, code: str) -> float:
    value = server.metrics.registry.get_sample_value(
        "crucible_sandbox_requests_total", {"method": route, "code": code}
    )
    return value or 0.0


def hold(client: httpx.Client, engine: ControlledEngine, count: int) -> list[threading.Thread]:
    """Send ``count`` blocking requests from threads; return once the engine holds them all."""
    held = [
        threading.Thread(target=client.post, args=("/v1/execute",), kwargs={"json": body("block")})
        for _ in range(count)
    ]
    for thread in held:
        thread.start()
    wait_until(lambda: engine.calls == count)
    return held


@pytest.fixture
def served_http(served_engine: ServedEngine) -> Iterator[tuple[RunningServer, httpx.Client]]:
    """The session's real server and a client of its HTTP front (closed after the test)."""
    assert served_engine.server.http_endpoint is not None
    with httpx.Client(base_url=served_engine.server.http_endpoint.url, timeout=60) as client:
        yield served_engine.server, client


def test_ping_answers_pong(served_http: tuple[RunningServer, httpx.Client]) -> None:
    _, client = served_http
    reply = client.get("/v1/ping")
    assert reply.status_code == 200
    assert reply.json() == "pong"


def test_execute_returns_the_engines_verdict_in_the_json_mapping(
    served_http: tuple[RunningServer, httpx.Client],
) -> None:
    server, client = served_http
    before = requests_counted(server, "POST /v1/execute", "OK")
    reply = client.post("/v1/execute", json=body(request_id="a"))
    assert reply.status_code == 200
    answer = reply.json()
    assert (answer["request_id"], answer["status"], answer["isolation"]) == (
        "a",
        "PASSED",
        "POOLED",
    )
    assert set(answer) == set(proto_json(wire.response_to_proto(verdict(request()))))  # every field
    assert requests_counted(server, "POST /v1/execute", "OK") == before + 1


def test_execute_accepts_the_camel_case_names_of_the_mapping(
    served_http: tuple[RunningServer, httpx.Client],
) -> None:
    _, client = served_http
    document = {"requestId": "camel", "source": "pass", "tests": [{"assertTest": {"code": "1"}}]}
    reply = client.post("/v1/execute", json=document)
    assert reply.status_code == 200
    assert reply.json()["request_id"] == "camel"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"source": ', "the request body is not JSON: Expecting value at line 1 column 12"),
        (b"\xff\xfe", "the request body is not UTF-8"),
        (b'{"sourcecode": "x"}', 'has no field named "sourcecode"'),
        (
            b'{"source": "x", "stdin": "1", "tests": [{"assertTest": {"code": "1"}}]}',
            "stdin is the input of a run without tests",
        ),
    ],
)
def test_malformed_requests_are_400_naming_the_problem(
    served_http: tuple[RunningServer, httpx.Client], content: bytes, message: str
) -> None:
    server, client = served_http
    before = requests_counted(server, "POST /v1/execute", "INVALID_ARGUMENT")
    reply = client.post("/v1/execute", content=content)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["code"] == 400
    assert message in error["message"]
    assert requests_counted(server, "POST /v1/execute", "INVALID_ARGUMENT") == before + 1


def test_a_body_over_the_message_bound_is_413_before_it_is_read(
    http: Callable[..., tuple[RunningServer, httpx.Client]],
) -> None:
    engine = controlled()
    _, client = http(engine, max_message_bytes=4 * MIB)
    reply = client.post("/v1/execute", content=b"x" * (4 * MIB + 1))
    assert reply.status_code == 413
    assert reply.json()["error"]["message"] == (
        f"the request body is {4 * MIB + 1} bytes; this server accepts at most {4 * MIB} bytes"
    )
    assert engine.calls == 0


def test_a_streamed_body_without_length_is_cut_at_the_bound(
    http: Callable[..., tuple[RunningServer, httpx.Client]],
) -> None:
    _, client = http(controlled(), max_message_bytes=4 * MIB)

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b" " * MIB

    reply = client.post("/v1/execute", content=chunks())
    assert reply.status_code == 413
    assert reply.json()["error"]["message"] == (
        f"the request body exceeds {4 * MIB} bytes; this server accepts at most {4 * MIB} bytes"
    )


def test_a_full_engine_queue_is_429_with_retry_after(
    http: Callable[..., tuple[RunningServer, httpx.Client]],
) -> None:
    engine = controlled(workers=1, max_queue=1)
    server, client = http(engine)
    held = hold(client, engine, 2)
    reply = client.post("/v1/execute", json=body())
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "1"
    assert reply.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    engine.release()
    for thread in held:
        thread.join(timeout=10)
    assert engine.finished == ["", ""]
    assert requests_counted(server, "POST /v1/execute", "RESOURCE_EXHAUSTED") == 1


def test_connections_beyond_the_servers_bound_are_refused_before_the_engine(
    http: Callable[..., tuple[RunningServer, httpx.Client]],
) -> None:
    engine = controlled(workers=4, max_queue=4)
    _, client = http(engine, max_concurrent_rpcs=2)
    held = hold(client, engine, 2)
    reply = client.post("/v1/execute", json=body())
    assert reply.status_code == 503
    assert engine.calls == 2
    engine.release()
    for thread in held:
        thread.join(timeout=10)


def test_every_http_request_is_logged_as_a_grpc_one_is(
    served_http: tuple[RunningServer, httpx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = served_http
    with caplog.at_level(logging.INFO, logger="crucible.sandbox.server"):
        client.post("/v1/execute", json=body(request_id="logged"))
        client.post("/v1/execute", content=b"{")
    fields = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event")]
    assert [(f["method"], f["request_id"], f["code"]) for f in fields] == [
        ("POST /v1/execute", "logged", "OK"),
        ("POST /v1/execute", "", "INVALID_ARGUMENT"),
    ]
    assert fields[0]["status"] == "PASSED"
    assert fields[0]["peer"].startswith("127.0.0.1:")
    json.dumps(fields)  # the JSON formatter can write them


def test_stopping_the_server_lets_a_request_in_flight_finish(
    http: Callable[..., tuple[RunningServer, httpx.Client]], loop_thread: Any
) -> None:
    engine = controlled()
    server, client = http(engine)
    replies: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: replies.append(client.post("/v1/execute", json=body("block", "late")))
    )
    sender.start()
    wait_until(lambda: engine.calls == 1)
    stopping = asyncio.run_coroutine_threadsafe(server.stop(5), loop_thread.loop)
    wait_until(lambda: refused(server))  # the server is stopping, the request still held
    engine.release()
    sender.join(timeout=10)
    stopping.result(timeout=10)
    assert replies[0].status_code == 200
    assert replies[0].json()["request_id"] == "late"


def refused(server: RunningServer) -> bool:
    """Whether a new connection to the HTTP front is refused."""
    assert server.http_endpoint is not None
    try:
        httpx.get(server.http_endpoint.url + "/v1/ping", timeout=5)
    except httpx.ConnectError:
        return True
    return False


def test_a_full_queue_answers_run_code_429_in_sandbox_fusions_shape(
    http: Callable[..., tuple[RunningServer, httpx.Client]],
) -> None:
    engine = controlled(workers=1, max_queue=1)
    server, client = http(engine)
    held = hold(client, engine, 2)
    reply = client.post("/run_code", json={"code": "pass", "language": "python"})
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "1"
    assert reply.json() == {
        "status": "SandboxError",
        "message": "2 requests are running or queued",
        "compile_result": None,
        "run_result": None,
        "executor_pod_name": None,
        "files": {},
    }
    engine.release()
    for thread in held:
        thread.join(timeout=10)
    assert requests_counted(server, "POST /run_code", "RESOURCE_EXHAUSTED") == 1


def test_run_code_bodies_over_the_bound_are_413(
    http: Callable[..., tuple[RunningServer, httpx.Client]],
) -> None:
    engine = controlled()
    _, client = http(engine, max_message_bytes=4 * MIB)
    reply = client.post("/run_code", content=b"x" * (4 * MIB + 1))
    assert reply.status_code == 413
    assert reply.json()["detail"][0]["type"] == "body_too_large"
    assert engine.calls == 0
