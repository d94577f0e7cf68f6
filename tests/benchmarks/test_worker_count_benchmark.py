"""The side-by-side comparisons against real servers: each worker count (source tree, log
level) gets every workload every round, and the medians are those of its rounds; a server runs
the source tree it is given."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from crucible.benchmarks import log_level
from crucible.benchmarks.compare_trees import commit_of
from crucible.benchmarks.sandbox_throughput import Server, sandbox
from crucible.benchmarks.worker_count import compare

KEYS = {
    "humaneval_runs_per_s",
    "trivial_c2_runs_per_s",
    "trivial_c32_runs_per_s",
    "trivial_c32_p99_ms",
}


@pytest.mark.slow
@pytest.mark.train  # HumanEval's programs are one of the workloads
def test_each_worker_count_runs_every_workload_every_round() -> None:
    result = compare([1, 2], rounds=2, calls=40)
    assert set(result) == {"1", "2"}
    for row in result.values():
        assert len(row["rounds"]) == 2
        assert all(set(run) == KEYS and min(run.values()) > 0 for run in row["rounds"])
        for key in KEYS:
            assert row["median"][key] == statistics.median(run[key] for run in row["rounds"])


@pytest.mark.slow
@pytest.mark.train
def test_each_log_level_runs_every_workload_every_round() -> None:
    result = log_level.compare(workers=1, rounds=1, calls=40)
    assert set(result) == {"info", "warning"}
    for row in result.values():
        [run] = row["rounds"]
        assert set(run) == KEYS and min(run.values()) > 0


def test_comparing_trees_needs_two_different_ones(tmp_path: Path) -> None:
    for trees in ([tmp_path], [tmp_path, tmp_path / "."]):
        argv = [sys.executable, "-m", "crucible.benchmarks.compare_trees"]
        argv += [arg for tree in trees for arg in ("--tree", str(tree))]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "at least two different --tree" in done.stderr


@pytest.mark.slow
def test_a_server_runs_the_source_tree_it_is_given() -> None:
    tree = Path(__file__).resolve().parents[2]
    server = Server("pooled", 1, source_tree=tree)
    try:
        process = psutil.Process(server.pid)
        assert process.environ()["PYTHONPATH"] == str(tree)
        result = asyncio.run(sandbox(server.address, 4, 2, False))
    finally:
        server.stop()
    assert result["runs"] == 4


def test_a_tree_is_named_by_its_commit(tmp_path: Path) -> None:
    tree = Path(__file__).resolve().parents[2]
    head = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert commit_of(tree).rstrip("+") == head
    assert commit_of(tmp_path) == ""
