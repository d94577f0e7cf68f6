"""Server metrics and request logs, end to end: a real ``crucible sandbox serve`` with
``--metrics-address`` on 127.0.0.1, real requests over gRPC, the Prometheus endpoint scraped over
HTTP, and every counter checked to move by exactly what was sent."""

from __future__ import annotations

import socket
from pathlib import Path

import grpc
import pytest
from live_server import LiveServer, Samples, live_server, wait_until
from typer.testing import CliRunner

from crucible.cli.main import app
from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc
from crucible.sandbox_service import wire
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Limits
from crucible.sandbox_service.models import TestCase as Case

pytestmark = pytest.mark.timeout(120)


def program(
    request_id: str, source: str, test: str = "assert f() == 1", **extra: object
) -> pb.ExecuteRequest:
    request = ExecuteRequest(
        request_id=request_id, source=source, tests=[Case(body=AssertTest(code=test))], **extra
    )
    return wire.request_to_proto(request)


PASSING = "def f():\n    return 1\n"
WRONG = "def f():\n    return 2\n"
BROKEN = "def f(:\n"
RAISING = "def f():\n    return 1 / 0\n"


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def send_traffic(stub: pb_grpc.SandboxServiceStub) -> None:
    """6 Execute verdicts, 1 Execute rejected, 1 Execute past its deadline, a batch of 2
    verdicts and 1 rejected item, 1 ListLanguages."""
    for index in range(3):
        assert (
            stub.Execute(program(f"pass-{index}", PASSING), timeout=30).status == pb.Verdict.PASSED
        )
    for index in range(2):
        reply = stub.Execute(program(f"wrong-{index}", WRONG), timeout=30)
        assert reply.status == pb.Verdict.WRONG_ANSWER
    assert stub.Execute(program("broken", BROKEN), timeout=30).status == pb.Verdict.COMPILE_ERROR
    with pytest.raises(grpc.RpcError) as rejected:
        stub.Execute(program("cobol", PASSING, language="cobol"), timeout=30)
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as late:
        looping = program(
            "late", "while True:\n    pass\n", limits=Limits(cpu_time_limit_ms=20_000)
        )
        stub.Execute(looping, timeout=1.0)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    items = [
        pb.ExecuteBatchRequest(request=program("batch-pass", PASSING)),
        pb.ExecuteBatchRequest(request=program("batch-raise", RAISING)),
        pb.ExecuteBatchRequest(),
    ]
    replies = {reply.request_id: reply for reply in stub.ExecuteBatch(iter(items), timeout=30)}
    assert replies["batch-pass"].response.status == pb.Verdict.PASSED
    assert replies["batch-raise"].response.status == pb.Verdict.RUNTIME_ERROR
    assert replies[""].error.code == "INVALID_ARGUMENT"
    assert len(stub.ListLanguages(pb.ListLanguagesRequest(), timeout=10).languages) >= 1


def test_metrics_count_exactly_what_was_served(tmp_path: Path) -> None:
    with live_server(tmp_path, workers=1, metrics=True) as server:
        server.wait_pool_idle()
        before = server.scrape()
        with grpc.insecure_channel(server.address) as channel:
            send_traffic(pb_grpc.SandboxServiceStub(channel))

        def settled() -> bool:
            now = server.scrape()
            return (
                delta(
                    before,
                    now,
                    "crucible_sandbox_requests_total",
                    method="Execute",
                    code="DEADLINE_EXCEEDED",
                )
                == 1
                and value(now, "crucible_sandbox_pool_workers_alive") == 1
            )

        wait_until(settled, 20, "the cancelled request counted and its worker replaced")
        server.wait_pool_idle()
        after = server.scrape()
        exit_code = server.terminate()
        log_lines = server.request_logs()

    requests = "crucible_sandbox_requests_total"
    expected_requests = {
        ("Execute", "OK"): 6,
        ("Execute", "INVALID_ARGUMENT"): 1,
        ("Execute", "DEADLINE_EXCEEDED"): 1,
        ("Execute", "CANCELLED"): 0,
        ("Execute", "RESOURCE_EXHAUSTED"): 0,
        ("ExecuteBatch", "OK"): 2,
        ("ExecuteBatch", "INVALID_ARGUMENT"): 1,
        ("ListLanguages", "OK"): 1,
    }
    for (method, code), count in expected_requests.items():
        assert delta(before, after, requests, method=method, code=code) == count, (method, code)
    expected_verdicts = {
        "PASSED": 4,
        "WRONG_ANSWER": 2,
        "COMPILE_ERROR": 1,
        "RUNTIME_ERROR": 1,
        "TIME_LIMIT_EXCEEDED": 0,
        "SANDBOX_ERROR": 0,
    }
    for status, count in expected_verdicts.items():
        assert delta(before, after, "crucible_sandbox_verdicts_total", status=status) == count, (
            status
        )
    histogram = "crucible_sandbox_request_duration_seconds"
    for method, count in (("Execute", 6), ("ExecuteBatch", 2)):
        assert delta(before, after, f"{histogram}_count", method=method) == count
        assert delta(before, after, f"{histogram}_bucket", method=method, le="+Inf") == count
        assert delta(before, after, f"{histogram}_sum", method=method) > 0
    restarts = "crucible_sandbox_worker_restarts_total"
    assert delta(before, after, restarts, reason="cancelled") == 1
    for reason in ("died", "crashed", "stuck", "recycled"):
        assert delta(before, after, restarts, reason=reason) == 0, reason
    assert value(after, "crucible_sandbox_queue_depth") == 0
    assert value(after, "crucible_sandbox_in_flight") == 0
    assert value(after, "crucible_sandbox_workers") == 1
    assert value(after, "crucible_sandbox_pool_workers_alive") == 1

    assert exit_code == 0
    _check_request_logs(log_lines, server)


def _check_request_logs(lines: list[dict[str, object]], server: LiveServer) -> None:
    """One JSON line per request, with its id, code, verdict status and duration."""
    by_id: dict[object, list[dict[str, object]]] = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    expected = {
        **{f"pass-{i}": ("OK", "PASSED") for i in range(3)},
        **{f"wrong-{i}": ("OK", "WRONG_ANSWER") for i in range(2)},
        "broken": ("OK", "COMPILE_ERROR"),
        "cobol": ("INVALID_ARGUMENT", None),
        "late": ("DEADLINE_EXCEEDED", None),
        "batch-pass": ("OK", "PASSED"),
        "batch-raise": ("OK", "RUNTIME_ERROR"),
        "": ("INVALID_ARGUMENT", None),
    }
    assert set(by_id) == set(expected)
    for request_id, (code, status) in expected.items():
        [line] = by_id[request_id]
        assert line["code"] == code and line.get("status") == status, line
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["method"] in ("Execute", "ExecuteBatch") and line["level"] == "INFO"
    assert "not supported" in str(by_id["cobol"][0]["error"])
    assert by_id["batch-raise"][0]["error_type"] == "ZeroDivisionError"
    [serving] = [r for r in server.log_records() if r["message"] == "serving"]
    assert serving["metrics_url"] == server.metrics_url


def test_serve_help_documents_the_metrics_flag() -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--metrics-address" in result.output and "Prometheus" in result.output


def test_malformed_metrics_address_is_bad_input() -> None:
    result = CliRunner().invoke(
        app, ["sandbox", "serve", "--address", "127.0.0.1:0", "--metrics-address", "9464"]
    )
    assert result.exit_code == 2
    assert "metrics_address '9464' is not host:port" in result.stderr


def test_metrics_port_in_use_is_unavailable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app,
            [
                "sandbox",
                "serve",
                "--address",
                "127.0.0.1:0",
                "--metrics-address",
                f"127.0.0.1:{port}",
            ],
        )
    assert result.exit_code == 3
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr


def test_cgroup_parent_outside_the_hierarchy_is_bad_input() -> None:
    escape = "../crucible-test-escape"
    result = CliRunner().invoke(
        app,
        ["sandbox", "serve", "--address", "127.0.0.1:0", "--isolation", "pooled"],
        env={"CRUCIBLE_CGROUP_PARENT": escape},
    )
    assert result.exit_code == 2
    assert f"cgroup_parent {escape!r} (from CRUCIBLE_CGROUP_PARENT" in result.stderr
    assert not Path("/sys/fs/cgroup/crucible-test-escape").exists()
