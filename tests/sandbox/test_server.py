"""The gRPC server's mechanics, through raw stubs so that every status code is asserted:
validation, back-pressure, cancellation, batching, health, reflection, shutdown and logs.

The engine is the real one (the session's ``served_engine``) where a test needs no control over
timing, and :class:`ControlledEngine` (see sandbox_harness.py for why) where it does."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from real_engine import ServedEngine
from sandbox_harness import ControlledEngine, LoopThread, request, wait_until

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service import wire
from crucible.sandbox_service.engine import EngineConfig
from crucible.sandbox_service.models import IsolationMode, Status
from crucible.sandbox_service.server import RunningServer
from crucible.sandbox_service.server.logs import JsonFormatter

pytestmark = pytest.mark.timeout(30)

Start = Callable[..., RunningServer]
StubFor = Callable[[str], pb_grpc.SandboxServiceStub]


def controlled(workers: int = 2, max_queue: int = 2, **kwargs: Any) -> ControlledEngine:
    return ControlledEngine(EngineConfig(workers=workers, max_queue=max_queue), **kwargs)


def proto(
    source: str = "pass", request_id: str = "", language: str = "python"
) -> pb.ExecuteRequest:
    return wire.request_to_proto(request(source, request_id, language))


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def batch(*items: pb.ExecuteRequest | None) -> list[pb.ExecuteBatchRequest]:
    """Batch items; ``None`` is an item without a request."""
    return [pb.ExecuteBatchRequest(request=item) for item in items]


def test_execute_returns_the_engines_verdict(
    served_engine: ServedEngine, stub_for: StubFor
) -> None:
    reply = stub_for(served_engine.address).Execute(proto(request_id="a"), timeout=30)
    answer = wire.response_from_proto(reply)
    assert (answer.request_id, answer.status, answer.test_count) == ("a", Status.PASSED, 1)
    assert answer.isolation is IsolationMode.POOLED


def test_invalid_request_is_invalid_argument_naming_the_field(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled()
    stub = stub_for(start_controlled(engine).address)
    message = proto()
    message.tests.add(call_test=pb.CallTest(function_name="f", args_json="[", expected_json="1"))
    error = rpc_error(lambda: stub.Execute(message, timeout=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("tests[1].call_test.args_json is not valid JSON")
    assert engine.calls == 0


def test_request_the_engine_rejects_is_invalid_argument(
    served_engine: ServedEngine, stub_for: StubFor
) -> None:
    stub = stub_for(served_engine.address)
    error = rpc_error(lambda: stub.Execute(proto(language="cobol"), timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'cobol' is not supported" in error.details()


def test_full_engine_queue_is_resource_exhausted(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled(workers=1, max_queue=1)
    stub = stub_for(start_controlled(engine).address)
    held = [stub.Execute.future(proto("block", f"held-{i}"), timeout=5) for i in range(2)]
    wait_until(lambda: engine.calls == 2)
    error = rpc_error(lambda: stub.Execute(proto(), timeout=5))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    engine.release()
    assert sorted(future.result().request_id for future in held) == ["held-0", "held-1"]


def test_rpcs_beyond_the_servers_bound_are_resource_exhausted(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled(workers=4, max_queue=4)
    stub = stub_for(start_controlled(engine, max_concurrent_rpcs=2).address)
    held = [stub.Execute.future(proto("block"), timeout=5) for _ in range(2)]
    wait_until(lambda: engine.calls == 2)
    error = rpc_error(lambda: stub.Execute(proto(), timeout=5))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert engine.calls == 2  # refused before reaching the engine
    engine.release()
    for future in held:
        future.result()


def test_client_deadline_cancels_the_program(
    start_controlled: Start, stub_for: StubFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crucible.sandbox.server")
    engine = controlled()
    stub = stub_for(start_controlled(engine).address)
    error = rpc_error(lambda: stub.Execute(proto("block", "late"), timeout=0.3))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: engine.cancelled == ["late"])
    wait_until(lambda: _logged(caplog, "late").get("code") == "DEADLINE_EXCEEDED")


def test_client_cancellation_cancels_the_program(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled()
    stub = stub_for(start_controlled(engine).address)
    future = stub.Execute.future(proto("block", "gone"), timeout=5)
    wait_until(lambda: engine.started == ["gone"])
    future.cancel()
    wait_until(lambda: engine.cancelled == ["gone"])
    assert engine.finished == []


def test_batch_answers_in_completion_order_with_request_ids(
    start_controlled: Start, stub_for: StubFor
) -> None:
    stub = stub_for(start_controlled(controlled(workers=2)).address)
    items = batch(proto("sleep:0.3", "slow"), proto("pass", "fast"))
    replies = list(stub.ExecuteBatch(iter(items), timeout=5))
    assert [reply.request_id for reply in replies] == ["fast", "slow"]
    assert all(reply.response.request_id == reply.request_id for reply in replies)


def test_batch_runs_as_many_items_at_once_as_the_engine_has_workers(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled(workers=3, max_queue=100)
    stub = stub_for(start_controlled(engine).address)
    items = batch(*(proto("sleep:0.05", str(i)) for i in range(9)))
    replies = list(stub.ExecuteBatch(iter(items), timeout=5))
    assert sorted(int(reply.request_id) for reply in replies) == list(range(9))
    assert engine.max_running == 3


def test_batch_item_failures_are_answers_and_the_stream_goes_on(
    start_controlled: Start, stub_for: StubFor
) -> None:
    stub = stub_for(start_controlled(controlled()).address)
    bad_json = proto(request_id="bad-json")
    bad_json.tests[0].ClearField("assert_test")
    bad_json.tests[0].call_test.function_name = "f"
    bad_json.tests[0].call_test.expected_json = "{"
    items = batch(
        proto(request_id="first"),
        bad_json,
        proto(request_id="cobol", language="cobol"),
        None,
        proto(request_id="last"),
    )
    replies = {reply.request_id: reply for reply in stub.ExecuteBatch(iter(items), timeout=5)}
    assert sorted(replies) == ["", "bad-json", "cobol", "first", "last"]
    assert replies["first"].HasField("response") and replies["last"].HasField("response")
    assert replies["bad-json"].error.code == "INVALID_ARGUMENT"
    assert replies["bad-json"].error.message.startswith("tests[0].call_test.expected_json")
    assert replies["cobol"].error.code == "INVALID_ARGUMENT"
    assert replies[""].error == pb.ItemError(code="INVALID_ARGUMENT", message="request is not set")


def test_batch_items_without_a_usable_request_id_are_refused_and_the_stream_goes_on(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled()
    stub = stub_for(start_controlled(engine).address)
    items = batch(proto(request_id="a"), proto(request_id=""), proto(request_id="a"))
    items += batch(proto(request_id="b"))
    replies = list(stub.ExecuteBatch(iter(items), timeout=5))
    assert sorted(reply.WhichOneof("outcome") for reply in replies) == [
        "error",
        "error",
        "response",
        "response",
    ]
    errors = {reply.request_id: reply.error for reply in replies if reply.HasField("error")}
    assert errors[""] == pb.ItemError(
        code="INVALID_ARGUMENT",
        message="request.request_id is empty; a batch answer is matched to its item by it",
    )
    assert errors["a"] == pb.ItemError(
        code="INVALID_ARGUMENT",
        message="request.request_id 'a' is used by an earlier item of this stream",
    )
    assert engine.calls == 2  # the refused items never reached the engine


def test_batch_item_the_engine_is_too_busy_for_is_resource_exhausted(
    start_controlled: Start, stub_for: StubFor
) -> None:
    stub = stub_for(start_controlled(controlled(workers=1, busy_first=1)).address)
    replies = list(stub.ExecuteBatch(iter(batch(proto(request_id="a"), proto(request_id="b"))), 5))
    outcomes = sorted(reply.WhichOneof("outcome") for reply in replies)
    assert outcomes == ["error", "response"]
    assert [r.error.code for r in replies if r.HasField("error")] == ["RESOURCE_EXHAUSTED"]


def test_cancelling_a_batch_cancels_every_item_in_flight(
    start_controlled: Start, stub_for: StubFor
) -> None:
    engine = controlled(workers=3)
    stub = stub_for(start_controlled(engine).address)
    call = stub.ExecuteBatch(iter(batch(*(proto("block", str(i)) for i in range(3)))), timeout=5)
    wait_until(lambda: len(engine.started) == 3)
    call.cancel()
    wait_until(lambda: sorted(engine.cancelled) == ["0", "1", "2"])
    assert engine.finished == []


def test_list_languages(served_engine: ServedEngine, stub_for: StubFor) -> None:
    reply = stub_for(served_engine.address).ListLanguages(pb.ListLanguagesRequest(), timeout=5)
    assert wire.languages_from_proto(reply) == served_engine.engine.languages()


def test_health_is_serving_for_the_server_and_the_service(served_engine: ServedEngine) -> None:
    with grpc.insecure_channel(served_engine.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", wire.SERVICE_NAME):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_and_describes_the_services(
    served_engine: ServedEngine, version: str
) -> None:
    # v1 and v1alpha messages are byte-identical, so v1alpha's classes speak v1 too; only the
    # method path differs.
    asks = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=wire.SERVICE_NAME),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol=f"grpc.reflection.{version}.ServerReflection"
        ),
    ]
    with grpc.insecure_channel(served_engine.address) as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        listed, sandbox, itself = list(call(iter(asks), timeout=5))
    names = {service.name for service in listed.list_services_response.service}
    assert {wire.SERVICE_NAME, "grpc.health.v1.Health"} <= names
    assert {
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(data)
        for reply in (sandbox, itself)
        for data in reply.file_descriptor_response.file_descriptor_proto
    ]
    assert files[0].package == "crucible.sandbox.v1"
    assert files[-1].package == f"grpc.reflection.{version}"
    assert [method.input_type for method in files[-1].service[0].method] == [
        f".grpc.reflection.{version}.ServerReflectionRequest"
    ]


def test_messages_beyond_grpcs_4_mib_default_are_accepted(
    served_engine: ServedEngine, stub_for: StubFor
) -> None:
    stub = stub_for(served_engine.address)
    message = proto(request_id="big")
    for _ in range(2):
        message.tests.add(stdio_test=pb.StdioTest(stdin="x" * (3 << 20), expected_stdout=""))
    assert message.ByteSize() > 6 << 20
    assert stub.Execute(message, timeout=60).request_id == "big"


def test_graceful_shutdown_lets_in_flight_requests_finish(
    start_controlled: Start, stub_for: StubFor, loop_thread: LoopThread
) -> None:
    engine = controlled()
    server = start_controlled(engine)
    stub = stub_for(server.address)
    in_flight = stub.Execute.future(proto("block", "in-flight"), timeout=5)
    wait_until(lambda: engine.started == ["in-flight"])
    stopping = asyncio.run_coroutine_threadsafe(server.stop(5), loop_thread.loop)
    wait_until(lambda: _refused(stub))
    engine.release()  # the request ends only now, while the server is stopping
    assert in_flight.result().request_id == "in-flight"
    stopping.result(timeout=5)
    assert engine.cancelled == []


def test_shutdown_after_the_grace_period_cancels_and_reports_in_flight_work(
    start_controlled: Start, stub_for: StubFor, loop_thread: LoopThread
) -> None:
    engine = controlled()
    server = start_controlled(engine)
    stub = stub_for(server.address)
    in_flight = stub.Execute.future(proto("block", "stuck"), timeout=5)
    wait_until(lambda: engine.started == ["stuck"])
    loop_thread.run(server.stop(0.2))
    error = rpc_error(in_flight.result)  # the caller is told; nothing is silently lost
    assert error.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    wait_until(lambda: engine.cancelled == ["stuck"])


def test_each_request_is_logged_as_one_json_line(
    start_controlled: Start, stub_for: StubFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="crucible.sandbox.server")
    stub = stub_for(start_controlled(controlled()).address)
    stub.Execute(proto(request_id="ok"), timeout=5)
    rpc_error(lambda: stub.Execute(proto(request_id="rejected", language="cobol"), timeout=5))
    ok, rejected = _logged(caplog, "ok"), _logged(caplog, "rejected")
    assert ok["code"] == "OK" and ok["status"] == "PASSED" and ok["method"] == "Execute"
    assert ok["duration_ms"] >= 0 and ok["test_count"] == 1
    assert rejected["code"] == "INVALID_ARGUMENT" and "cobol" in rejected["error"]
    record = next(r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "ok")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "ok" and line["level"] == "INFO"


def test_request_lines_are_warnings_only_when_the_sandbox_failed_the_request(
    start_controlled: Start, stub_for: StubFor, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that logs at WARNING (``--log-level warning``) leaves out the line of every
    request but those the sandbox failed (a SANDBOX_ERROR verdict, an INTERNAL error)."""
    caplog.set_level(logging.WARNING, logger="crucible.sandbox.server")
    stub = stub_for(start_controlled(controlled()).address)
    stub.Execute(proto(request_id="ok"), timeout=5)
    stub.Execute(proto("sandbox_error", request_id="failed"), timeout=5)
    crashed = rpc_error(lambda: stub.Execute(proto("crash", request_id="crashed"), timeout=5))
    assert crashed.code() == grpc.StatusCode.INTERNAL
    rpc_error(lambda: stub.Execute(proto(request_id="rejected", language="cobol"), timeout=5))
    lines = {
        record.fields["request_id"]: record
        for record in caplog.records
        if getattr(record, "fields", {}).get("event") == "request"
    }
    assert set(lines) == {"failed", "crashed"}
    assert lines["failed"].fields["status"] == "SANDBOX_ERROR"
    assert lines["crashed"].fields["code"] == "INTERNAL"
    assert {record.levelname for record in lines.values()} == {"WARNING"}


def _logged(caplog: pytest.LogCaptureFixture, request_id: str) -> dict[str, Any]:
    """The fields of the request log line for ``request_id`` ({} if none yet)."""
    for record in caplog.records:
        fields: dict[str, Any] = getattr(record, "fields", {})
        if fields.get("event") == "request" and fields.get("request_id") == request_id:
            return fields
    return {}


def _refused(stub: pb_grpc.SandboxServiceStub) -> bool:
    try:
        stub.Execute(proto(), timeout=1)
    except grpc.RpcError as error:
        return bool(error.code() == grpc.StatusCode.UNAVAILABLE)
    return False
