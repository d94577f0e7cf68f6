"""CPU time and minor page faults per test of the Python harness alone: its forked test children
and the serving harness parent, without a jail, a server or a client.

Why beside ``sandbox_cpu_cost``: a change to the harness or the image it forks from moves these
numbers by a tenth of a millisecond, which the whole pooled path's noise on a shared machine
hides. Minor faults hardly depend on the machine's load: each is a page of the parent that a
child (or the parent, after a fork) touched, copied on write or mapped anew, and such faults
are most of a forked test's cost beyond the fork itself. The harness runs as a pooled worker
does (``--serve``, line probes preloaded unless ``--lazy-line-probes``), started by the command
the engine uses but outside nsjail (as ``--isolation none`` does); jobs go to its stdin as the
engine frames them. Counts come from ``/proc/<harness>/stat``: the parent's own and those of
the children it reaped, over every test of the measured jobs after a warm-up.

Writes ``benchmarks/results/harness_child_cost.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from crucible.benchmarks.sandbox_cpu_cost import trivial_requests
from crucible.benchmarks.sandbox_throughput import humaneval_requests
from crucible.kernel.progress import progress_bar
from crucible.sandbox_service.engine import python_runner as py
from crucible.sandbox_service.engine.harness_process import marshal_frame
from crucible.sandbox_service.models import ExecuteRequest, ResolvedLimits

RESULTS = Path(__file__).with_name("results") / "harness_child_cost.json"
LIMITS = ResolvedLimits(
    cpu_time_limit_ms=10_000.0,
    wall_time_limit_ms=30_000.0,
    memory_limit_bytes=1 << 30,
    output_limit_bytes=1 << 20,
)
WARM_UP_JOBS = 50


def _counters(pid: int) -> dict[str, float]:
    """Minor faults and CPU ms of process ``pid`` and of the children it reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
    return {
        "parent_minor_faults": int(fields[7]),
        "child_minor_faults": int(fields[8]),
        "parent_cpu_ms": (int(fields[11]) + int(fields[12])) * tick_ms,
        "child_cpu_ms": (int(fields[13]) + int(fields[14])) * tick_ms,
    }


class Harness:
    """A serving harness outside any jail, fed jobs one after another."""

    def __init__(self, preload_line_probes: bool) -> None:
        self.workdir = tempfile.mkdtemp(prefix="crucible-child-cost-")
        argv = py.python_runtime().command(
            jailed=False, serve=True, preload_line_probes=preload_line_probes
        )
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=self.workdir,
            env=py.SINGLE_THREADED_ENV,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        if json.loads(self.stdout.readline())["event"] != "ready":
            raise RuntimeError("the harness did not start")

    def run(self, frames: list[bytes], count: int) -> int:
        """Run ``count`` jobs, cycling through ``frames``; how many tests ran. Every test must
        pass: a failing one would measure something else."""
        tests = 0
        for index in range(count):
            self.stdin.write(frames[index % len(frames)])
            self.stdin.flush()
            while True:
                record = json.loads(self.stdout.readline())
                if record["event"] == "done":
                    break
                if record["event"] != "test" or (record["child"] or {}).get("outcome") != "ok":
                    raise RuntimeError(f"a test did not pass: {record}")
                tests += 1
        return tests

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=30)
        shutil.rmtree(self.workdir, ignore_errors=True)


def cost_per_test(
    requests: list[ExecuteRequest], jobs: int, preload_line_probes: bool = True
) -> dict[str, Any]:
    """Per test of ``jobs`` jobs (``requests`` in turn): the children's and the parent's CPU ms
    and minor faults, measured after a warm-up of every request at least once."""
    harness = Harness(preload_line_probes)
    try:
        frames = [
            marshal_frame(
                py.build_job(request, LIMITS, workdir=harness.workdir, ask_continue=False)
            )
            for request in requests
        ]
        harness.run(frames, max(WARM_UP_JOBS, len(frames)))
        before = _counters(harness.process.pid)
        tests = harness.run(frames, jobs)
        after = _counters(harness.process.pid)
    finally:
        harness.close()
    per_test = {name: (after[name] - before[name]) / tests for name in after}
    return {"tests": tests, **per_test}


def measure(
    trivial: int, humaneval_rounds: int, rounds: int, lazy: bool, progress: bool = True
) -> dict[str, Any]:
    """``rounds`` alternations of a trivial run and a HumanEval run (each a fresh harness)."""
    humaneval = humaneval_requests(coverage=False)
    runs: dict[str, list[dict[str, Any]]] = {"trivial": [], "humaneval": []}
    with progress_bar("runs", 2 * rounds, enabled=progress) as bar:
        for _ in range(rounds):
            runs["trivial"].append(cost_per_test(trivial_requests(1), trivial, not lazy))
            bar.advance()
            runs["humaneval"].append(
                cost_per_test(humaneval, humaneval_rounds * len(humaneval), not lazy)
            )
            bar.advance()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trivial", type=int, default=2000, help="trivial jobs per run")
    parser.add_argument("--humaneval-rounds", type=int, default=3, help="passes over HumanEval")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind, alternated")
    parser.add_argument(
        "--lazy-line-probes", action="store_true", help="serve without the line-probe preload"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = {
        "flags": ["--lazy-line-probes"] if args.lazy_line_probes else [],
        **measure(args.trivial, args.humaneval_rounds, args.rounds, args.lazy_line_probes),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
