"""The bootstrap interval over tasks and seeds that every learning-benchmark score carries."""

from __future__ import annotations

import random

import pytest

from crucible.benchmarks.common import bootstrap_interval


def test_constant_scores_have_no_spread() -> None:
    assert bootstrap_interval([[0.25] * 7, [0.25] * 7]) == (0.25, 0.25, 0.25)


def test_seeds_are_resampled() -> None:
    """Every task alike within a seed, seeds apart: only resampling the seeds gives width."""
    mean, low, high = bootstrap_interval([[0.0] * 50, [1.0] * 50, [0.0] * 50, [1.0] * 50])
    assert mean == 0.5
    assert low <= 0.25 and high >= 0.75


def test_tasks_are_resampled() -> None:
    """One seed: only resampling the tasks gives width."""
    mean, low, high = bootstrap_interval([[0.0, 1.0] * 50])
    assert mean == 0.5
    assert 0.35 < low < 0.5 < high < 0.65


def test_more_tasks_narrow_the_interval_around_the_mean() -> None:
    rng = random.Random(0)
    widths = []
    for tasks in (40, 640):
        row = [float(rng.random() < 0.3) for _ in range(tasks)]
        mean, low, high = bootstrap_interval([row], seed=1)
        assert low <= mean <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_same_seed_same_interval() -> None:
    scores = [[0.1, 0.5, 0.9], [0.2, 0.4, 0.0]]
    assert bootstrap_interval(scores, seed=3) == bootstrap_interval(scores, seed=3)


@pytest.mark.parametrize("scores", [[], [[]], [[0.1, 0.2], [0.3]]])
def test_not_a_matrix_is_refused(scores: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="seeds x tasks matrix"):
        bootstrap_interval(scores)
