"""The learning benchmark end to end on a toy plan: real tiny model, real SFT, real sandbox, real
plugins (one online, one offline). Checks the budget is measured, the reports are written, and
a second invocation resumes from the finished runs instead of training again."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crucible.benchmarks.learning import Plan, run_benchmark, summarise
from crucible.cli.main import app


def _plan(tmp_path: Path) -> Plan:
    return Plan(
        suite="crucible-basic",
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


@pytest.mark.slow
@pytest.mark.train
def test_every_method_runs_under_the_measured_budget_and_resumes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(tmp_path).model_copy(update={"jobs": 2, "refine_rounds": 2})
    lines: list[str] = []
    report = run_benchmark(plan, lines.append)
    assert report["jobs"] == 2 and report["cpu_s"] > 0
    assert "2 runs, 2 at a time" in lines
    assert "seed 0: grpo" in capfd.readouterr().err  # the pool process's own log

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
    # the activity table carries each run's metrics, averaged as the rows say
    cycle_row = next(row for row in report["rows"] if row["variant"] == "cycle")
    share = cycle_row["activity"]["refine_share"]
    assert share == pytest.approx(runs["cycle"]["activity"]["refine_share"])
    assert f"| cycle | `refine_share` {share:.3f}" in table
    assert "| grpo | – |" in table
    assert (results / "toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # resumed in this process: both runs are taken from the workdir, nothing is trained
    again: list[str] = []
    resumed = run_benchmark(plan.model_copy(update={"jobs": 1}), again.append)
    assert resumed["runs"] == report["runs"]
    assert (report["runs_reused"], resumed["runs_reused"]) == (0, 2)
    assert not any("warm start" in line or ": grpo" in line for line in again)

    # the schedule does not change a result: GRPO trained again here, in this process, from
    # a start built again here, scores what the pool process's run scored
    alone = plan.model_copy(update={"jobs": 1, "methods": ("grpo",), "workdir": tmp_path / "alone"})
    here = run_benchmark(alone, lines.append)
    assert any("seed 0: grpo" in line for line in lines)
    assert here["starts"]["0"]["task_pass@1"] == report["starts"]["0"]["task_pass@1"]
    assert here["runs"][0]["after"] == runs["grpo"]["after"]
    assert here["runs"][0]["statuses"] == runs["grpo"]["statuses"]


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


def test_suite_picks_the_policy_and_the_data() -> None:
    steps, basic = Plan(), Plan(suite="crucible-basic")
    assert (steps.policy, basic.policy) == ("tiny-steps", "tiny")
    assert "data.dataset=crucible-steps" in steps.suite_overrides()
    assert "model.name_or_path=tiny" in basic.suite_overrides()
    assert Plan(model="smollm2-135m").policy == "smollm2-135m"
    # another policy's results never overwrite the suite's own
    assert (Plan().stem, Plan(model="tiny-steps").stem) == ("learning", "learning")
    assert Plan(model="smollm2-135m").stem == "learning_smollm2-135m"
    # a warm start has the cores the starts running beside it leave (the runs wait for it)
    assert Plan(jobs=2).warm_start_threads() == max(1, (os.cpu_count() or 1) // 2)
    assert Plan.quick(jobs=2).warm_start_threads() == (os.cpu_count() or 1)
    assert Plan(jobs=1).warm_start_threads() == (os.cpu_count() or 1)
    assert Plan(cpu_threads=None).warm_start_threads() is None
    assert Plan.quick(model="smollm2-135m").stem == "learning_smollm2-135m_quick"
    assert (steps.stem, Plan.quick().stem, basic.stem) == (
        "learning",
        "learning_quick",
        "learning_basic",
    )
    with pytest.raises(ValueError, match="unknown suite 'nope'"):
        Plan(suite="nope").variants()


def _run(variant: str, seed: int, cells: list[float], parent: str | None = None) -> dict[str, Any]:
    mean = sum(cells) / len(cells)
    return {
        "variant": variant,
        "ablation_of": parent,
        "seed": seed,
        "start": {"pass@1": 0.2},
        "after": {"pass@1": mean},
        "task_pass@1": cells,
        "statuses": {"PASSED": 1},
        **dict.fromkeys(
            ("completions", "generated_tokens", "generation_s", "sandbox_s", "learning_s"), 1
        ),
        "steps": 1,
    }


def test_every_pass_at_1_and_difference_gets_a_bootstrap_interval() -> None:
    start = [0.2, 0.0, 0.4, 0.2] * 10
    starts = {seed: {"pass@1": 0.2, "task_pass@1": start} for seed in (0, 1)}
    better = [cell + 0.3 for cell in start]
    runs = [
        *(_run("grpo", seed, better) for seed in (0, 1)),
        *(_run("grpo, off", seed, start, "grpo") for seed in (0, 1)),
    ]
    start_row, method, ablation = summarise(runs, starts)
    assert start_row["pass@1_ci"][0] == pytest.approx(0.2)
    mean, low, high = method["delta_pass@1_ci"]
    assert mean == pytest.approx(0.3) and low == pytest.approx(0.3) and high == pytest.approx(0.3)
    assert method["beats_start"] and "method_minus_ablation_ci" not in method
    assert ablation["delta_pass@1_ci"][0] == pytest.approx(0.0)
    assert not ablation["beats_start"]  # an interval touching zero is not a gain
    assert ablation["method_minus_ablation_ci"][0] == pytest.approx(0.3)
    assert ablation["pass@1_ci"][1] < ablation["pass@1_ci"][0] < ablation["pass@1_ci"][2]


def test_activity_is_averaged_over_seeds_and_a_missing_metric_counts_as_zero() -> None:
    start = [0.2, 0.0] * 5
    starts = {seed: {"pass@1": 0.1, "task_pass@1": start} for seed in (0, 1)}
    runs = [
        {**_run("stepcoder", 0, start), "activity": {"fgo_masked_token_fraction": 0.2}},
        {**_run("stepcoder", 1, start), "activity": {}},
    ]
    _, method = summarise(runs, starts)
    assert method["activity"] == {"fgo_masked_token_fraction": pytest.approx(0.1)}


def test_an_ablation_whose_activity_equals_its_methods_is_flagged() -> None:
    start = [0.2, 0.0] * 5
    starts = {0: {"pass@1": 0.1, "task_pass@1": start}}
    active = {"fgo_masked_token_fraction": 0.2, "cccs_stage_mean": 2.0}
    runs = [
        {**_run("stepcoder", 0, start), "activity": active},
        {**_run("stepcoder, FGO off", 0, start, "stepcoder"), "activity": active},
        {
            **_run("stepcoder, CCCS off", 0, start, "stepcoder"),
            "activity": {**active, "cccs_stage_mean": 1.0},
        },
    ]
    _, method, broken, sound = summarise(runs, starts)
    assert not method["activity_equals_method"]
    assert broken["activity_equals_method"] and not sound["activity_equals_method"]


def test_cycles_runs_are_queued_first() -> None:
    """The pool takes a seed's runs in this order: CYCLE's, the longest, go first."""
    from crucible.benchmarks.learning import _queue_order

    queued = [v.label for v in sorted(Plan().variants(), key=_queue_order)]
    assert queued[:3] == ["cycle", "cycle, no PGM", "cycle, no refine data"]
    assert not any(label.startswith("cycle") for label in queued[3:])
