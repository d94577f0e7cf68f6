"""Two or more source trees side by side: the same workloads through a ``crucible sandbox serve``
started from each tree (its PYTHONPATH set to the tree, as a git worktree is run), the servers
taking turns round by round as in ``worker_count.py``, so that the host's state moves every
side alike: HumanEval's 164 canonical programs through one ExecuteBatch stream (runs/s), and
trivial unary requests 2 and 32 at a time (runs/s, p99 latency).

Why: a change to the server, the engine or the harness is judged against the code before it on
the same host at the same time, not against a figure measured earlier. Each tree needs its
generated gRPC stubs (``make stubs`` there). Prints a table and writes
``benchmarks/results/compare_trees.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from crucible.benchmarks.common import machine_description
from crucible.benchmarks.sandbox_throughput import Server
from crucible.benchmarks.worker_count import alternate, print_table

RESULTS = Path(__file__).with_name("results") / "compare_trees.json"


def commit_of(tree: Path) -> str:
    """The commit checked out in ``tree`` (with ``+`` when it has uncommitted changes), or ""
    when it is not a git checkout."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    return head + ("+" if head and git("status", "--porcelain", "--untracked-files=no") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tree", type=Path, action="append", required=True, help="a source tree (repeat)"
    )
    parser.add_argument("--workers", type=int, default=2, help="pooled workers of each server")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=800, help="trivial requests per row")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree]
    if len(set(trees)) < 2:
        parser.error("give at least two different --tree")
    servers: dict[str, Server] = {}
    try:
        for tree in trees:
            servers[str(tree)] = Server("pooled", args.workers, source_tree=tree)
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    result = alternate(servers, args.rounds, args.calls)
    print_table("tree", result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine_description(),
        "workers": args.workers,
        "commits": {str(tree): commit_of(tree) for tree in trees},
        "trees": result,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
