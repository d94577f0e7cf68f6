"""What the request log lines cost, side by side: the same requests through ``crucible sandbox
serve`` at ``--log-level info`` (the default: a JSON line per request) and at ``--log-level
warning`` (only the lines of requests the sandbox failed), the servers taking turns round by
round as in ``worker_count.py``.

Why: an operator of a fleet chooses between a line per request and the CPU those lines take;
docs/deploy.md quotes this comparison. Prints a table and writes
``benchmarks/results/log_level.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from crucible.benchmarks.common import machine_description
from crucible.benchmarks.sandbox_throughput import Server
from crucible.benchmarks.worker_count import alternate, print_table

RESULTS = Path(__file__).with_name("results") / "log_level.json"
LEVELS = ("info", "warning")


def compare(workers: int, rounds: int, calls: int, progress: bool = True) -> dict[str, Any]:
    """:func:`worker_count.alternate` over servers at each of ``LEVELS``, keyed by the level."""
    servers = {level: Server("pooled", workers, "--log-level", level) for level in LEVELS}
    return alternate(servers, rounds, calls, progress)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="pooled workers of each server")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=1500, help="trivial requests per row")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = compare(args.workers, args.rounds, args.calls)
    print_table("log level", result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine_description(), "workers": args.workers, "levels": result}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
