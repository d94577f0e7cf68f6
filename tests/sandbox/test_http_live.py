"""The HTTP front of a real ``crucible sandbox serve --http-address``: the same programs sent
over HTTP and over gRPC get the same verdicts from the same engine, and the server's metrics
and request log count the HTTP requests beside the gRPC ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from live_server import live_server

from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service import wire
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, StdioTest
from crucible.sandbox_service.models import TestCase as Case
from crucible.sandbox_service.server.http import proto_json

pytestmark = pytest.mark.timeout(120)

PROGRAMS = {
    "passed": ("def f():\n    return 1\n", AssertTest(code="assert f() == 1")),
    "wrong": ("def f():\n    return 2\n", AssertTest(code="assert f() == 1")),
    "raises": ("def f():\n    return 1 / 0\n", AssertTest(code="assert f() == 1")),
    "broken": ("def f(:\n", AssertTest(code="assert f() == 1")),
    "stdio": ("print(int(input()) * 2)\n", StdioTest(stdin="21\n", expected_stdout="42\n")),
}
# Measured per run, so never equal between two runs of one program.
TIMINGS = {"cpu_time_ms", "wall_time_ms", "peak_memory_bytes"}


def without_timings(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: without_timings(v) for k, v in document.items() if k not in TIMINGS}
    if isinstance(document, list):
        return [without_timings(item) for item in document]
    return document


def test_http_and_grpc_give_the_same_verdicts_counted_and_logged_alike(tmp_path: Path) -> None:
    with live_server(tmp_path, metrics=True, http=True) as server:
        assert server.http_url is not None
        channel = grpc.insecure_channel(server.address)
        stub = pb_grpc.SandboxServiceStub(channel)
        try:
            with httpx.Client(base_url=server.http_url, timeout=30) as client:
                for name, (source, test) in PROGRAMS.items():
                    request = wire.request_to_proto(
                        ExecuteRequest(request_id=name, source=source, tests=[Case(body=test)])
                    )
                    over_grpc = proto_json(stub.Execute(request, timeout=30))
                    reply = client.post("/v1/execute", json=proto_json(request))
                    assert reply.status_code == 200, reply.text
                    assert without_timings(reply.json()) == without_timings(over_grpc), name
        finally:
            channel.close()
        samples = server.scrape()
        http_logs = [r for r in server.request_logs() if r["method"] == "POST /v1/execute"]
    requests = ("crucible_sandbox_requests_total", (("code", "OK"), ("method", "POST /v1/execute")))
    assert samples[requests] == len(PROGRAMS)
    for status in ("PASSED", "WRONG_ANSWER", "RUNTIME_ERROR", "COMPILE_ERROR"):
        verdicts = ("crucible_sandbox_verdicts_total", (("status", status),))
        assert samples[verdicts] == 2 * (2 if status == "PASSED" else 1)
    assert sorted(r["request_id"] for r in http_logs) == sorted(PROGRAMS)
    assert {r["code"] for r in http_logs} == {"OK"}
