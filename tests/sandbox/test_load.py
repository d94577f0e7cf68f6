"""Load: 10,000 requests through a real ``crucible sandbox serve`` (pooled isolation, real
nsjail) on 127.0.0.1 at a concurrency of 4x its workers, half as Execute calls and half over
ExecuteBatch streams.

Every request gets exactly one answer: the verdict its program deserves (each program is
unique, so an answer swapped between requests would show) or a clean RESOURCE_EXHAUSTED /
DEADLINE_EXCEEDED, never SANDBOX_ERROR. Afterwards the pool is back to its idle workers and,
once the server has stopped, no process, cgroup or temp file of it is left. A burst beyond the
server's queue is then refused with RESOURCE_EXHAUSTED, not left hanging.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from live_server import LiveServer, live_server

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox.v1 import sandbox_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

WORKERS = 2
MAX_QUEUE = 6  # workers + queue = the concurrency below: no request should need refusing
REQUESTS = 10_000
EXECUTE_LANES = 4
BATCH_STREAMS = 2  # each keeps `workers` programs in the engine
CALL_TIMEOUT_S = 60.0
CLEAN_REFUSALS = {"RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"}


def unique_program(index: int) -> tuple[pb.ExecuteRequest, str]:
    """Request ``index`` (a trivial program that only it has) and the status it deserves."""
    request = pb.ExecuteRequest(request_id=f"r{index}", language="python")
    kind = index % 5
    if kind == 0:
        request.source = f"def f():\n    return {index}\n"
        request.tests.add(assert_test=pb.AssertTest(code=f"assert f() == {index}"))
        return request, "PASSED"
    if kind == 1:
        request.source = f"def f():\n    return {index}\n"
        request.tests.add(assert_test=pb.AssertTest(code=f"assert f() == {index + 1}"))
        return request, "WRONG_ANSWER"
    if kind == 2:
        request.source = f"def f():\n    return {index} // 0\n"
        request.tests.add(assert_test=pb.AssertTest(code="assert f() == 0"))
        return request, "RUNTIME_ERROR"
    if kind == 3:
        request.source = f"print(int(input()) + {index})\n"
        request.tests.add(stdio_test=pb.StdioTest(stdin="1\n", expected_stdout=f"{index + 1}\n"))
        return request, "PASSED"
    request.source = f"def f(x):\n    return x * {index}\n"
    request.tests.add(
        call_test=pb.CallTest(function_name="f", args_json="[2]", expected_json=str(2 * index))
    )
    return request, "PASSED"


class Ledger:
    """Every answer received, per request id."""

    def __init__(self) -> None:
        self.answers: defaultdict[str, list[str]] = defaultdict(list)

    def verdict(self, request_id: str, status: int) -> None:
        self.answers[request_id].append(pb.Verdict.Status.Name(status))

    def refusal(self, request_id: str, code: str) -> None:
        self.answers[request_id].append(code)


async def execute_lane(
    stub: pb_grpc.SandboxServiceStub, requests: list[pb.ExecuteRequest], ledger: Ledger
) -> None:
    for request in requests:
        try:
            reply = await stub.Execute(request, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            ledger.refusal(request.request_id, error.code().name)
            continue
        assert reply.request_id == request.request_id
        ledger.verdict(request.request_id, reply.status)


async def batch_stream(
    stub: pb_grpc.SandboxServiceStub, requests: list[pb.ExecuteRequest], ledger: Ledger
) -> None:
    async def items() -> AsyncIterator[pb.ExecuteBatchRequest]:
        for request in requests:
            yield pb.ExecuteBatchRequest(request=request)

    answered: set[str] = set()
    call = stub.ExecuteBatch(items(), timeout=len(requests) * CALL_TIMEOUT_S)
    try:
        async for reply in call:
            answered.add(reply.request_id)
            if reply.HasField("response"):
                ledger.verdict(reply.request_id, reply.response.status)
            else:
                ledger.refusal(reply.request_id, reply.error.code)
    except grpc.aio.AioRpcError as error:  # the whole stream ended: its unanswered items too
        for request in requests:
            if request.request_id not in answered:
                ledger.refusal(request.request_id, error.code().name)


async def run_load(address: str, requests: list[pb.ExecuteRequest]) -> Ledger:
    ledger = Ledger()
    half = len(requests) // 2
    singles, batched = requests[:half], requests[half:]
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SandboxServiceStub(channel)
        await asyncio.gather(
            *(
                execute_lane(stub, singles[lane::EXECUTE_LANES], ledger)
                for lane in range(EXECUTE_LANES)
            ),
            *(batch_stream(stub, batched[s::BATCH_STREAMS], ledger) for s in range(BATCH_STREAMS)),
        )
    return ledger


async def burst(address: str, count: int) -> list[str]:
    """``count`` one-second programs at once: more than the server may hold."""

    async def one(index: int) -> str:
        request = pb.ExecuteRequest(
            request_id=f"burst-{index}", source="import time\ntime.sleep(1)\n"
        )
        request.tests.add(assert_test=pb.AssertTest(code="assert True"))
        try:
            reply = await stub.Execute(request, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
        return pb.Verdict.Status.Name(reply.status)

    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.SandboxServiceStub(channel)
        return list(await asyncio.gather(*(one(index) for index in range(count))))


def test_ten_thousand_requests_each_get_one_clean_answer(tmp_path: Path) -> None:
    programs = [unique_program(index) for index in range(REQUESTS)]
    expected = {request.request_id: status for request, status in programs}
    with live_server(
        tmp_path, "--max-queue", str(MAX_QUEUE), workers=WORKERS, metrics=True
    ) as server:
        server.wait_pool_idle()
        ledger = asyncio.run(run_load(server.address, [request for request, _ in programs]))

        assert set(ledger.answers) == set(expected)
        tally: Counter[str] = Counter()
        for request_id, answers in ledger.answers.items():
            assert len(answers) == 1, (request_id, answers)
            [answer] = answers
            tally[answer] += 1
            assert answer == expected[request_id] or answer in CLEAN_REFUSALS, (request_id, answer)
        assert tally["SANDBOX_ERROR"] == 0
        verdicts = sum(count for answer, count in tally.items() if answer not in CLEAN_REFUSALS)

        server.wait_pool_idle()  # nothing of 10,000 programs survives in the jails
        metrics = server.scrape()
        assert (
            metrics.get(("crucible_sandbox_verdicts_total", (("status", "SANDBOX_ERROR"),)), 0) == 0
        )
        served = sum(
            value
            for (name, labels), value in metrics.items()
            if name == "crucible_sandbox_requests_total" and ("code", "OK") in labels
        )
        assert served == verdicts

        outcomes = asyncio.run(burst(server.address, 5 * (WORKERS + MAX_QUEUE)))
        assert set(outcomes) <= {"PASSED", "RESOURCE_EXHAUSTED"}, Counter(outcomes)
        assert "RESOURCE_EXHAUSTED" in outcomes and "PASSED" in outcomes

        server.wait_pool_idle()
        assert server.terminate() == 0
        _check_logs(server, expected)
        server.assert_nothing_left()


def _check_logs(server: LiveServer, expected: dict[str, str]) -> None:
    """One log line per request, with the status the client saw."""
    seen: Counter[str] = Counter()
    for line in server.request_logs():
        request_id = str(line["request_id"])
        seen[request_id] += 1
        if request_id in expected and line["code"] == "OK":
            assert line["status"] == expected[request_id], line
    assert all(seen[request_id] == 1 for request_id in expected)
