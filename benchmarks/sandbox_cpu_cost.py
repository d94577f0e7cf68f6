"""CPU milliseconds per request, per component of the pooled path, and the server's hot spots.

Wall-clock throughput needs a quiet machine; CPU time does not (much): a busy neighbour delays a
process but does not make it execute more instructions. So this measures, over a run of
requests through a real ``crucible sandbox serve`` process, the CPU time (user + system, from
``/proc`` via psutil) spent by

* the client (this process: building requests, gRPC, decoding verdicts),
* the server process (gRPC, models, the engine, the event loop),
* the jailed harness parents of the pooled workers and their nsjail supervisors,
* the tests' forked children (reaped by the harness, so counted in its children's time),

and, for comparison, the CPU time of the fork floor: a fork + exec of a fresh interpreter per
program, and the programs alone exec'd in this interpreter.

Trivial requests are measured twice: over one ExecuteBatch stream (``trivial``, the blocking
client) and as unary Execute calls from the asyncio client with ``--concurrency`` in flight
(``trivial_unary``, the way the throughput benchmark's trivial rows send them), since the
server's and the client's work per request differ between the two.

``--profile`` runs an in-process server instead and prints cProfile's top entries of its event
loop thread (where every request's Python work on the server side happens) and of the client's
thread, for the trivial run (``--unary``: sent as unary calls).

Writes ``benchmarks/results/sandbox_cpu_cost.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import json
import logging
import os
import pstats
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from crucible.benchmarks.floor import floor_interpreter, run_floor
from crucible.benchmarks.sandbox_throughput import (
    TRIVIAL_SOURCE,
    TRIVIAL_TEST,
    Server,
    apps_request,
    humaneval_programs,
    humaneval_requests,
)
from crucible.sandbox_service.client import AsyncSandboxClient, SandboxClient
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Status, TestCase

RESULTS = Path(__file__).with_name("results") / "sandbox_cpu_cost.json"


def trivial_requests(count: int) -> list[ExecuteRequest]:
    return [
        ExecuteRequest(
            request_id=str(index),
            source=TRIVIAL_SOURCE,
            tests=[TestCase(body=AssertTest(code=TRIVIAL_TEST))],
        )
        for index in range(count)
    ]


def apps_requests(count: int, shared: bool) -> list[ExecuteRequest]:
    """``count`` APPS-like requests (10 stdio tests each), with a process per test or
    (``shared``) one process for all of a request's tests."""
    request = apps_request(shared)
    return [request.model_copy(update={"request_id": str(index)}) for index in range(count)]


def apps_cost(workers: int, count: int) -> dict[str, Any]:
    """CPU ms per APPS-like request with a process per test and with ``tests_share_process``,
    measured back to back through one pooled server, twice in alternation (``forked_1``,
    ``shared_1``, ``forked_2``, ``shared_2``) so that a neighbour's load is spread over both."""
    server = Server("pooled", workers)
    try:
        process = psutil.Process(server.pid)
        all_pass(server.address, apps_requests(workers * 4, True))  # warm every worker
        result = {}
        for round_ in (1, 2):
            for name, shared in (("forked", False), ("shared", True)):
                requests = apps_requests(count, shared)
                result[f"{name}_{round_}"] = measure(
                    server=process, run=functools.partial(all_pass, server.address, requests)
                )
        return result
    finally:
        server.stop()


def cpu_ms(times: Any, children: bool) -> float:
    total = times.user + times.system
    if children:
        total += times.children_user + times.children_system
    return float(total) * 1000.0


def _components(server: psutil.Process) -> dict[str, float]:
    """CPU ms so far of the server process, its nsjail supervisors, the jailed harness parents
    and the tests they reaped. The pool keeps its workers for the whole run (fewer jobs than
    RECYCLE_AFTER per worker; see :func:`cpu_cost`), so differences of two snapshots are the
    run's cost."""
    found = {"server": cpu_ms(server.cpu_times(), False), "nsjail": 0.0}
    found["harness"] = found["tests"] = 0.0
    for child in server.children(recursive=True):
        try:
            times = child.cpu_times()
            if child.name() == "nsjail":
                found["nsjail"] += cpu_ms(times, False)
            else:
                found["harness"] += cpu_ms(times, False)
                found["tests"] += (times.children_user + times.children_system) * 1000.0
        except psutil.Error:
            continue
    return found


def measure(server: psutil.Process, run: Callable[[], int]) -> dict[str, Any]:
    """CPU ms per request of every component over ``run`` (which returns how many ran)."""
    me = psutil.Process()
    before, client_before = _components(server), cpu_ms(me.cpu_times(), False)
    started = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - started
    after, client_after = _components(server), cpu_ms(me.cpu_times(), False)
    per = {name: (after[name] - before[name]) / count for name in after}
    per["client"] = (client_after - client_before) / count
    per["total"] = sum(per.values())
    return {"requests": count, "wall_s": elapsed, "cpu_ms_per_request": per}


def all_pass(address: str, requests: list[ExecuteRequest]) -> int:
    with SandboxClient(address) as client:
        statuses = [verdict.status for verdict in client.execute_many(requests)]
    failed = [status for status in statuses if status is not Status.PASSED]
    if failed:
        raise RuntimeError(f"{len(failed)} requests did not pass: {failed[:3]}")
    return len(statuses)


def all_pass_unary(address: str, requests: list[ExecuteRequest], concurrency: int) -> int:
    """``requests`` as unary Execute calls, ``concurrency`` in flight; each must pass."""

    async def run() -> int:
        async with AsyncSandboxClient(address) as client:
            slots = asyncio.Semaphore(concurrency)

            async def one(request: ExecuteRequest) -> Status:
                async with slots:
                    return (await client.execute(request)).status

            statuses = await asyncio.gather(*(one(request) for request in requests))
        failed = [status for status in statuses if status is not Status.PASSED]
        if failed:
            raise RuntimeError(f"{len(failed)} requests did not pass: {failed[:3]}")
        return len(statuses)

    return asyncio.run(run())


def floor_cost(programs: list[str], lanes: int) -> dict[str, float]:
    """CPU ms per program of the floor paths (benchmarks/floor.py): the lanes' CPU time,
    counted by the kernel when each lane is reaped, start-up and imports included."""
    me = psutil.Process()
    interpreter = floor_interpreter()
    cost = {}
    for name, mode, warm in (
        ("exec", "exec", True),
        ("fork_warm", "fork", True),
        ("fork_cold", "fork", False),
    ):
        before = me.cpu_times()
        run_floor(programs, interpreter, mode, 1 if mode == "exec" else lanes, warm)  # type: ignore[arg-type]
        after = me.cpu_times()
        spent = (
            after.children_user
            + after.children_system
            - before.children_user
            - before.children_system
        )
        cost[name] = 1000.0 * spent / len(programs)
    return cost


def cpu_cost(
    workers: int, trivial: int, rounds: int, *flags: str, concurrency: int = 32
) -> dict[str, Any]:
    """The run's CPU ms per request and per component: ``trivial`` trivial requests in one
    ExecuteBatch stream and as many as unary calls (``concurrency`` in flight), then ``rounds``
    passes over HumanEval's 164 (one ExecuteBatch stream each), and the floors; ``flags``: more
    ``crucible sandbox serve`` options, e.g. ``--lazy-line-probes``. Each of the three runs has
    a server of its own, so that no pooled worker reaches RECYCLE_AFTER jobs (a replaced
    worker's CPU time would leave the count) while ``trivial`` stays under it per worker."""
    humaneval = humaneval_requests(coverage=False)
    runs: dict[str, Callable[[str], int]] = {
        "trivial": lambda address: all_pass(address, trivial_requests(trivial)),
        "trivial_unary": lambda address: all_pass_unary(
            address, trivial_requests(trivial), concurrency
        ),
        "humaneval": lambda address: sum(all_pass(address, humaneval) for _ in range(rounds)),
    }
    result = {}
    for name, run in runs.items():
        server = Server("pooled", workers, *flags)
        try:
            process = psutil.Process(server.pid)
            result[name] = measure(server=process, run=functools.partial(run, server.address))
        finally:
            server.stop()
    return {
        **result,
        "floor_trivial": floor_cost([TRIVIAL_SOURCE + TRIVIAL_TEST] * trivial, workers),
        "floor_humaneval": floor_cost(humaneval_programs(), workers),
    }


def profile_loop(workers: int, requests: int, top: int, unary: int | None = None) -> str:
    """cProfile of an in-process server's event loop thread, and of the client's thread, over
    ``requests`` trivial requests sent by one ExecuteBatch stream (``unary``: as unary calls
    with that many in flight); the top entries of each by own time. The server logs each
    request's JSON line as ``crucible sandbox serve`` does, to /dev/null."""
    from crucible.sandbox_service.engine import Engine, EngineConfig
    from crucible.sandbox_service.server import start_server
    from crucible.sandbox_service.server.logs import configure_json_logging

    configure_json_logging()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(Path(os.devnull).open("w"))  # noqa: SIM115 (for the process's life)

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def start() -> Any:
        engine = Engine(EngineConfig(isolation="pooled", workers=workers))
        await engine.start()
        return await start_server(engine, "127.0.0.1:0")

    running = asyncio.run_coroutine_threadsafe(start(), loop).result()

    def send(count: int) -> int:
        if unary is None:
            return all_pass(running.address, trivial_requests(count))
        return all_pass_unary(running.address, trivial_requests(count), unary)

    send(workers * 4)  # warm
    profile = cProfile.Profile(time.thread_time)  # CPU time: a busy host does not inflate it
    client = cProfile.Profile(time.thread_time)
    toggled = threading.Event()

    def toggle(on: bool) -> None:
        profile.enable() if on else profile.disable()
        toggled.set()

    loop.call_soon_threadsafe(toggle, True)
    toggled.wait()
    toggled.clear()
    client.runcall(send, requests)
    loop.call_soon_threadsafe(toggle, False)
    toggled.wait()
    out = io.StringIO()
    for name, stats in (("server event loop thread", profile), ("client thread", client)):
        out.write(f"=== {name} ===\n")
        pstats.Stats(stats, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--trivial", type=int, default=2000, help="trivial requests to run")
    parser.add_argument("--rounds", type=int, default=5, help="passes over HumanEval's 164")
    parser.add_argument(
        "--lazy-line-probes", action="store_true", help="serve with --lazy-line-probes"
    )
    parser.add_argument(
        "--apps",
        type=int,
        default=0,
        help="measure only this many APPS-like requests (10 stdio tests) per mode: a process "
        "per test and tests_share_process",
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="unary calls in flight (trivial_unary)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the server's loop and the client"
    )
    parser.add_argument(
        "--unary", action="store_true", help="profile unary calls instead of one batch stream"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.profile:
        unary = args.concurrency if args.unary else None
        print(profile_loop(args.workers, args.trivial, args.top, unary))
        return
    if args.apps:
        report = {"workers": args.workers, "apps": apps_cost(args.workers, args.apps)}
        print(json.dumps(report, indent=2))
        return
    flags = ("--lazy-line-probes",) if args.lazy_line_probes else ()
    result = {
        "workers": args.workers,
        "flags": list(flags),
        **cpu_cost(args.workers, args.trivial, args.rounds, *flags, concurrency=args.concurrency),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
