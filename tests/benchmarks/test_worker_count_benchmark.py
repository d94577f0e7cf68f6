"""The worker-count comparison against real servers: each count gets every workload every round,
and the medians are those of its rounds."""

from __future__ import annotations

import statistics

import pytest

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
