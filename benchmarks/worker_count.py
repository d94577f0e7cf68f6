"""Workers per core, side by side: the same requests through ``crucible sandbox serve`` with as
many pooled workers as CPUs (the default) and with one more.

Why one more could pay: between two jobs a worker waits for the server (its verdict read, the
next job sent) while the cores serve the server and the client; a spare worker could use them.

The servers run at once and the workloads alternate between them round by round, so the host's
state moves both sides alike: HumanEval's 164 canonical programs through one ExecuteBatch stream
(runs/s), and trivial unary requests 2 and 32 at a time (runs/s, p99 latency). Prints a table
and writes ``benchmarks/results/worker_count.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
from pathlib import Path
from typing import Any

from crucible.benchmarks.common import machine_description
from crucible.benchmarks.sandbox_throughput import Server, humaneval_sandbox, sandbox
from crucible.kernel.progress import progress_bar

RESULTS = Path(__file__).with_name("results") / "worker_count.json"


def one_round(address: str, calls: int) -> dict[str, float]:
    """One round on one server: trivial requests 2 and 32 at a time, then HumanEval's batch."""
    trivial_2 = asyncio.run(sandbox(address, calls, 2, False))
    trivial_32 = asyncio.run(sandbox(address, calls, 32, False))
    return {
        "humaneval_runs_per_s": humaneval_sandbox(address, False)["runs_per_s"],
        "trivial_c2_runs_per_s": trivial_2["runs_per_s"],
        "trivial_c32_runs_per_s": trivial_32["runs_per_s"],
        "trivial_c32_p99_ms": trivial_32["p99_ms"],
    }


def alternate(
    servers: dict[str, Server], rounds: int, calls: int, progress: bool = True
) -> dict[str, Any]:
    """Per server (stopped afterwards): every round's HumanEval runs/s and trivial runs/s and
    p99 at concurrency 2 and 32, the servers taking turns within each round, and the medians."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        with progress_bar("rounds x servers", rounds * len(servers), enabled=progress) as bar:
            for _ in range(rounds):
                for name, server in servers.items():
                    runs[name].append(one_round(server.address, calls))
                    bar.advance()
    finally:
        for server in servers.values():
            server.stop()
    return {
        name: {
            "median": {key: statistics.median(run[key] for run in rounds_) for key in rounds_[0]},
            "rounds": rounds_,
        }
        for name, rounds_ in runs.items()
    }


def compare(counts: list[int], rounds: int, calls: int, progress: bool = True) -> dict[str, Any]:
    """:func:`alternate` over servers with ``counts`` pooled workers, keyed by the count."""
    servers = {str(count): Server("pooled", count) for count in counts}
    return alternate(servers, rounds, calls, progress)


def print_table(label: str, result: dict[str, Any]) -> None:
    """The medians of :func:`alternate`'s ``result``, a row per server named in column
    ``label``."""
    width = max(len(label), *(len(name) for name in result)) + 2
    print(
        f"{label:>{width}}{'HumanEval/s':>13}{'trivial/s c=2':>15}{'trivial/s c=32':>16}"
        f"{'p99 ms':>8}"
    )
    for name, row in result.items():
        median = row["median"]
        print(
            f"{name:>{width}}{median['humaneval_runs_per_s']:>13.0f}"
            f"{median['trivial_c2_runs_per_s']:>15.0f}{median['trivial_c32_runs_per_s']:>16.0f}"
            f"{median['trivial_c32_p99_ms']:>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=800, help="trivial requests per row")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    result = compare([cores, cores + 1], args.rounds, args.calls)
    print_table("workers", result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_description(), "cores": cores, "workers": result}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
