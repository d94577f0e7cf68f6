"""The engine's admission (engine/admission.py): first come, first served places, a freed place
handed to the next caller by the one that leaves (its ``on_admit`` runs before that caller's
task does), and nothing lost when a caller is cancelled or its start fails. On a real pooled
engine: the second of two requests for one worker is sent to the worker by the first request's
task as it finishes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from real_engine import LocalEngine, assert_test, request

from crucible.sandbox_service.engine.admission import Admission
from crucible.sandbox_service.engine.harness_process import HarnessProcess
from crucible.sandbox_service.models import ExecuteResponse, Status


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_places_go_first_come_first_served_and_the_leaver_starts_the_next() -> None:
    async def scenario() -> list[str]:
        admission: Admission[str] = Admission(1)
        events: list[str] = []

        def admit(name: str) -> str:
            events.append(f"admit {name}")
            return name

        async def caller(name: str) -> None:
            started = await admission.enter(lambda: admit(name))
            events.append(f"run {started}")

        assert await admission.enter(lambda: "first") == "first"
        waiters = [asyncio.create_task(caller(name)) for name in ("a", "b")]
        await _settle()
        assert events == []  # the one place is taken
        admission.leave()
        # a's start ran inside leave(), before a's task could.
        assert events == ["admit a"]
        await _settle()
        admission.leave()
        await asyncio.gather(*waiters)
        admission.leave()
        return events

    assert asyncio.run(scenario()) == ["admit a", "run a", "admit b", "run b"]


def test_a_caller_cancelled_while_waiting_takes_no_place() -> None:
    async def scenario() -> list[str | None]:
        admission: Admission[str] = Admission(1)
        await admission.enter()
        gone = asyncio.create_task(admission.enter(lambda: "gone"))
        kept = asyncio.create_task(admission.enter(lambda: "kept"))
        await _settle()
        gone.cancel()
        await _settle()
        admission.leave()
        admitted = [await kept]
        admission.leave()
        admitted.append(await admission.enter(lambda: "free again"))
        return admitted

    assert asyncio.run(scenario()) == ["kept", "free again"]


def test_a_caller_cancelled_after_its_start_abandons_it_and_passes_the_place_on() -> None:
    async def scenario() -> tuple[list[str], str | None]:
        admission: Admission[str] = Admission(1)
        abandoned: list[str] = []
        await admission.enter()
        late = asyncio.create_task(admission.enter(lambda: "job of late", abandoned.append))
        nxt = asyncio.create_task(admission.enter(lambda: "job of next"))
        await _settle()
        admission.leave()  # late is given the place and its job started...
        late.cancel()  # ...but it is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await late
        return abandoned, await nxt

    abandoned, passed_on = asyncio.run(scenario())
    assert abandoned == ["job of late"]
    assert passed_on == "job of next"


def test_a_caller_cancelled_while_its_start_runs_abandons_it() -> None:
    async def scenario() -> tuple[list[str], str | None]:
        admission: Admission[str] = Admission(1)
        abandoned: list[str] = []
        await admission.enter()
        tasks: list[asyncio.Task[str | None]] = []

        def start_and_be_cancelled() -> str:
            tasks[0].cancel()
            return "job of the cancelled"

        tasks.append(asyncio.create_task(admission.enter(start_and_be_cancelled, abandoned.append)))
        tasks.append(asyncio.create_task(admission.enter(lambda: "job of the next")))
        await _settle()
        admission.leave()
        with pytest.raises(asyncio.CancelledError):
            await tasks[0]
        return abandoned, await tasks[1]

    abandoned, passed_on = asyncio.run(scenario())
    assert abandoned == ["job of the cancelled"]
    assert passed_on == "job of the next"


def test_a_start_that_fails_reaches_its_caller_and_frees_the_place() -> None:
    def broken() -> str:
        raise OSError("the worker's pipe is gone")

    async def scenario() -> str | None:
        admission: Admission[str] = Admission(1)
        await admission.enter()
        failing = asyncio.create_task(admission.enter(broken))
        await _settle()
        admission.leave()
        with pytest.raises(OSError, match="pipe is gone"):
            await failing
        return await admission.enter(lambda: "free")

    assert asyncio.run(scenario()) == "free"


def test_the_next_job_is_sent_by_the_request_that_frees_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    senders: list[asyncio.Task[object] | None] = []
    send = HarnessProcess.send_nowait

    def send_nowait(self: HarnessProcess, job: dict[str, object]) -> None:
        senders.append(asyncio.current_task())
        send(self, job)

    monkeypatch.setattr(HarnessProcess, "send_nowait", send_nowait)
    pooled = LocalEngine("pooled", workers=1)
    add = request("def add(a, b):\n    return a + b\n", assert_test("assert add(1, 2) == 3"))

    async def two_requests() -> tuple[list[ExecuteResponse], list[asyncio.Task[object]]]:
        tasks = [asyncio.create_task(pooled.engine.execute(add)) for _ in range(2)]
        verdicts = await asyncio.gather(*tasks)
        return list(verdicts), tasks  # type: ignore[return-value]

    try:
        verdicts, tasks = pooled._loop.run_until_complete(two_requests())
    finally:
        pooled.close()
    assert [verdict.status for verdict in verdicts] == [Status.PASSED, Status.PASSED]
    # A request's wall time runs from when its job was sent, so it covers its test's.
    assert all(v.wall_time_ms >= v.tests[0].wall_time_ms > 0 for v in verdicts), verdicts
    # The first request's task sent both jobs: its own, and the second's as it gave the worker
    # back, before the second request's task ran again.
    assert senders == [tasks[0], tasks[0]]


def test_a_request_cancelled_after_its_job_was_sent_for_it_gives_up_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second request's job is sent by the first as it finishes, and the second is
    cancelled before its task runs again: nobody will read that job's records, so the worker
    is replaced (reason "cancelled") and later requests are served."""
    pooled = LocalEngine("pooled", workers=1)
    engine = pooled.engine
    add = request("def add(a, b):\n    return a + b\n", assert_test("assert add(1, 2) == 3"))
    start = engine._start_on_idle_worker
    waiting: list[asyncio.Task[ExecuteResponse]] = []

    def start_then_cancel(*args: Any) -> Any:
        started = start(*args)
        if waiting and started is not None:
            # Sent for the second request, which is cancelled before its task runs again.
            asyncio.get_running_loop().call_soon(waiting[0].cancel)
        return started

    monkeypatch.setattr(engine, "_start_on_idle_worker", start_then_cancel)

    async def scenario() -> tuple[ExecuteResponse, bool]:
        first = asyncio.create_task(engine.execute(add))
        await asyncio.sleep(0)  # the first takes the only place (and sends its own job)
        waiting.append(asyncio.create_task(engine.execute(add)))
        verdict = await first
        try:
            await waiting[0]
        except asyncio.CancelledError:
            return verdict, True
        return verdict, False

    try:
        verdict, cancelled = pooled._loop.run_until_complete(scenario())
        later = pooled.run(add)
        restarts = engine.stats().worker_restarts
    finally:
        pooled.close()
    assert verdict.status is Status.PASSED
    assert cancelled
    assert restarts["cancelled"] == 1, restarts
    assert later.status is Status.PASSED, later.error
