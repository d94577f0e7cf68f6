"""The learning benchmark end to end on a toy plan: real tiny model, real SFT, real sandbox, real
plugins (one online, one offline). Checks the budget is measured, the reports are written, and
a second invocation resumes from the finished runs instead of training again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crucible.benchmarks.learning import Plan, run_benchmark
from crucible.cli.main import app

pytestmark = [pytest.mark.slow, pytest.mark.train]


def _plan(tmp_path: Path) -> Plan:
    return Plan(
        seeds=(0,),
        budget=16,
        methods=("grpo", "cycle"),
        ablations=False,
        max_eval_tasks=3,
        overrides=("start:warm_start.sft_epochs=1", "cycle:method.phase2_epochs=1"),
        curve_points=1,
        workdir=tmp_path / "work",
        results_dir=tmp_path / "results",
        results_name="toy",
    )


def test_every_method_runs_under_the_measured_budget_and_resumes(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    lines: list[str] = []
    report = run_benchmark(plan, lines.append)

    runs = {run["variant"]: run for run in report["runs"]}
    # One GRPO step is 8 prompts x 4 samples: the meter counts exactly what was generated.
    assert runs["grpo"]["steps"] == 1
    assert runs["grpo"]["completions"] == 32
    assert sum(runs["grpo"]["statuses"].values()) == 32  # every completion got one verdict
    # CYCLE samples 4 per problem: the budget of 16 cuts its training set to 4 problems.
    assert "data.max_train_tasks=4" in runs["cycle"]["overrides"]
    assert runs["cycle"]["completions"] == 16
    # each run carries its method's activity metrics (GRPO names none)
    assert set(runs["cycle"]["activity"]) == {"refine_share", "pgm_masked_token_fraction"}
    assert runs["grpo"]["activity"] == {}
    for run in runs.values():
        assert run["generated_tokens"] > 0
        assert run["generation_s"] > 0
        assert run["curve"][0] == [0, report["starts"]["0"]["pass@1"]]
        assert set(run["after"]) >= {"pass@1", "pass@5", "pass@1_round1", "pass@1_round2"}
    assert [row["variant"] for row in report["rows"]] == ["start (SFT)", "grpo", "cycle"]

    results = plan.results_dir
    written = json.loads((results / "toy.json").read_text())
    assert written["runs"] == json.loads(json.dumps(report["runs"]))
    table = (results / "toy.md").read_text()
    assert "| grpo |" in table and "| cycle |" in table
    assert (results / "toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("seed 0: grpo" in line for line in lines)

    again: list[str] = []
    resumed = run_benchmark(plan, again.append)
    assert resumed["runs"] == report["runs"]
    assert (report["runs_reused"], resumed["runs_reused"]) == (0, 2)
    assert not any("warm start" in line or ": grpo" in line for line in again)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--method", "nope"], "nope"),
        (["--set", "nope:trainer.lr=1"], "nope"),
        (["--set", "trainer.lr"], "KEY=VALUE"),
    ],
)
def test_bad_input_is_exit_2_naming_the_problem(arguments: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["bench", "learning", *arguments])
    assert result.exit_code == 2
    assert named in result.output


def test_overrides_reach_their_target_only() -> None:
    plan = Plan(overrides=("trainer.lr=1", "rltf:trainer.steps=3", "start:warm_start.lr=2"))
    assert plan.overrides_for("rltf") == ["trainer.lr=1", "trainer.steps=3"]
    assert plan.overrides_for("grpo") == ["trainer.lr=1"]
    assert plan.overrides_for("start") == ["trainer.lr=1", "warm_start.lr=2"]
