"""The request-floor benchmark: the pooled harness image it forks is the worker's (prepared by
the harness's own code, guard included), every row is charged, and the targets' floors and
budgets are the sums and fractions the report states."""

from __future__ import annotations

import pytest

from crucible.benchmarks.request_floor import image_fork, measure_floor, report, target_bounds


def test_the_image_forked_is_the_prepared_worker_image() -> None:
    fork = image_fork(50)
    # The worker image holds slipcover, the preloaded modules and the strict snapshot: several
    # MiB of anonymous memory more than a bare interpreter's ~3 MiB.
    assert fork["anonymous_kb"] > 5 * 1024
    assert fork["parent_cpu_ms"] > 0 and fork["child_cpu_ms"] > 0
    # A fork copies pages on write in the child, and the parent writes some after each fork.
    assert fork["child_minor_faults"] > 10 and fork["parent_minor_faults"] > 1


def test_floors_and_budgets_follow_the_measured_rows() -> None:
    measured = {
        "grpc_call": {"server": 0.2, "client": 0.1},
        "image_fork": {"parent_cpu_ms": 0.3, "child_cpu_ms": 0.4},
        "trivial_exec": 0.05,
        "humaneval_exec": 1.0,
        "bare_python": 7.0,
        "humaneval_fork_floor": 2.0,
        "trivial_request": {"total": 2.5},
        "humaneval_request": {"total": 3.5},
    }
    bounds = target_bounds(measured)
    assert bounds["trivial"] == pytest.approx({"floor": 1.05, "budget": 1.4, "measured": 2.5})
    assert bounds["humaneval"] == pytest.approx({"floor": 2.0, "budget": 3.0, "measured": 3.5})


@pytest.mark.slow
@pytest.mark.train  # HumanEval's programs are one of the runs
def test_a_small_run_measures_every_row() -> None:
    result = measure_floor(workers=2, trivial=100, concurrency=8, forks=50, progress=False)
    assert min(result["grpc_call"].values()) > 0
    for request in ("trivial_request", "humaneval_request"):
        assert min(result[request][part] for part in ("server", "harness", "tests")) > 0
    # A fresh interpreter per program costs more than forking a warm one, and HumanEval's
    # programs more than the trivial one.
    fork = result["image_fork"]
    assert result["bare_python"] > fork["parent_cpu_ms"] + fork["child_cpu_ms"]
    assert result["humaneval_exec"] > result["trivial_exec"]
    text = report(result)
    assert "| trivial, >= 5x `python3 -S` |" in text and "| HumanEval, <= 1.5x fork floor |" in text
