"""CodeDPO's self-verification, pair selection and efficiency threshold as pure functions.

CodeDPO (Zhang et al. 2024, arXiv 2410.05605) samples n codes and m tests from the same model
and runs every code against every test: ``passes[i][j]`` is True when code i passes test j. Its
PageRank-inspired self-verification then lets codes and tests vouch for each other: every score
starts at 1 and, for K iterations with damping d,

    s_code[i] = (1 − d) · s_code[i] + d · Σ_j P[i, j] · s_test[j]
    s_test[j] = (1 − d) · s_test[j] + d · Σ_i P[i, j] · s_code[i]

with each vector normalised after its update (the code vector before it feeds the test update,
so both terms of each update stay on one scale). A test passed by many well-scored codes ends
up trusted; a code passing trusted tests ends up ranked high.

The correctness pair is (highest-scoring code, lowest-scoring code); the trusted tests are those
the top code passes; the efficiency pair is (fastest, slowest) among the codes passing every
trusted test, kept only when the speed gap is clearly above measurement noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from crucible.methods.codedpo.config import Normalization, Ranking

PassMatrix = Sequence[Sequence[bool]]


def _check_matrix(passes: PassMatrix) -> int:
    """The number of tests (columns); every row must have it."""
    widths = {len(row) for row in passes}
    if len(widths) > 1:
        raise ValueError(f"pass matrix rows have different lengths {sorted(widths)}")
    return widths.pop() if widths else 0


def normalise(values: Sequence[float], how: Normalization) -> list[float]:
    """``values`` divided by their mean, maximum or Euclidean norm; unchanged when that is 0.

    >>> normalise([1.0, 3.0], "mean")
    [0.5, 1.5]
    >>> normalise([3.0, 4.0], "l2")
    [0.6, 0.8]
    """
    if not values:
        return []
    if how == "mean":
        scale = sum(values) / len(values)
    elif how == "max":
        scale = max(values)
    else:
        scale = math.sqrt(sum(value * value for value in values))
    return list(values) if scale <= 0 else [value / scale for value in values]


def self_verification_scores(
    passes: PassMatrix, *, iterations: int, damping: float, normalization: Normalization
) -> tuple[list[float], list[float]]:
    """(code scores, test scores) after ``iterations`` damped, normalised updates (see the
    module docstring). With ``damping`` 0 nothing propagates and every score stays 1.

    >>> self_verification_scores([[True], [False]], iterations=1, damping=0.5, normalization="max")
    ([1.0, 0.5], [1.0])
    """
    tests = _check_matrix(passes)
    code = [1.0] * len(passes)
    test = [1.0] * tests
    for _ in range(iterations):
        code = normalise(
            [
                (1.0 - damping) * code[i]
                + damping * sum(t for t, ok in zip(test, row, strict=True) if ok)
                for i, row in enumerate(passes)
            ],
            normalization,
        )
        test = normalise(
            [
                (1.0 - damping) * test[j]
                + damping * sum(code[i] for i, row in enumerate(passes) if row[j])
                for j in range(tests)
            ],
            normalization,
        )
    return code, test


def pass_counts(passes: PassMatrix) -> list[float]:
    """The "rank by pass count" ablation's score: how many generated tests each code passes."""
    _check_matrix(passes)
    return [float(sum(row)) for row in passes]


def correctness_pair(
    scores: Sequence[float], codes: Sequence[str], *, min_gap: float
) -> tuple[int, int] | None:
    """(chosen, rejected) = (the highest-scoring code, the lowest-scoring code whose text
    differs), first index on ties; None unless s_chosen > s_rejected and
    (s_chosen − s_rejected) / s_chosen >= ``min_gap``.

    >>> correctness_pair([2.0, 0.5, 0.5], ["a", "b", "c"], min_gap=0.1)
    (0, 1)
    """
    if len(scores) != len(codes):
        raise ValueError(f"{len(scores)} scores for {len(codes)} codes")
    if not scores:
        return None
    chosen = max(range(len(scores)), key=lambda i: (scores[i], -i))
    others = [i for i in range(len(codes)) if codes[i] != codes[chosen]]
    if not others:
        return None
    rejected = min(others, key=lambda i: (scores[i], i))
    top, low = scores[chosen], scores[rejected]
    if top <= 0 or top <= low or (top - low) / top < min_gap:
        return None
    return chosen, rejected


def all_tests_trusted_pair(
    passes: PassMatrix, codes: Sequence[str], rng: random.Random
) -> tuple[int, int] | None:
    """The "all tests trusted" ablation: a random code passing every generated test is chosen,
    a random code failing at least one (with different text) is rejected."""
    tests = _check_matrix(passes)
    if tests == 0:
        return None
    correct = [i for i, row in enumerate(passes) if all(row)]
    if not correct:
        return None
    chosen = rng.choice(correct)
    wrong = [i for i, row in enumerate(passes) if not all(row) and codes[i] != codes[chosen]]
    return (chosen, rng.choice(wrong)) if wrong else None


def random_pair(codes: Sequence[str], rng: random.Random) -> tuple[int, int] | None:
    """The "random pairs" ablation: two codes with different text, in random order."""
    if not codes:
        return None
    chosen = rng.randrange(len(codes))
    others = [i for i in range(len(codes)) if codes[i] != codes[chosen]]
    return (chosen, rng.choice(others)) if others else None


@dataclass(frozen=True)
class RankedCodes:
    """How one prompt's codes were ranked: per-code scores (what the ranking compares), the
    correctness pair if any, and the tests trusted for timing."""

    scores: list[float]
    pair: tuple[int, int] | None
    trusted: list[int]
    test_scores: list[float] = field(default_factory=list)
    """Self-verification's per-test scores (empty for the ablations that rank otherwise)."""


def rank_codes(
    passes: PassMatrix,
    codes: Sequence[str],
    *,
    ranking: Ranking,
    iterations: int,
    damping: float,
    normalization: Normalization,
    min_gap: float,
    rng: random.Random,
) -> RankedCodes:
    """Rank one prompt's codes as ``ranking`` says; the trusted tests are those the top code
    (the chosen one for the ablations that pick it at random) passes, or every test for
    ``all_tests_trusted``."""
    if len(passes) != len(codes):
        raise ValueError(f"{len(passes)} pass-matrix rows for {len(codes)} codes")
    tests = _check_matrix(passes)
    test_scores: list[float] = []
    if ranking == "self_verification":
        scores, test_scores = self_verification_scores(
            passes, iterations=iterations, damping=damping, normalization=normalization
        )
    else:
        scores = pass_counts(passes)
    if ranking in ("self_verification", "pass_count"):
        pair = correctness_pair(scores, codes, min_gap=min_gap)
        top = max(range(len(scores)), key=lambda i: (scores[i], -i)) if scores else None
        trusted = [] if top is None else [j for j in range(tests) if passes[top][j]]
        return RankedCodes(scores, pair, trusted, test_scores)
    if ranking == "all_tests_trusted":
        pair = all_tests_trusted_pair(passes, codes, rng)
        return RankedCodes(scores, pair, list(range(tests)))
    pair = random_pair(codes, rng)
    trusted = [] if pair is None else [j for j in range(tests) if passes[pair[0]][j]]
    return RankedCodes(scores, pair, trusted)


def efficiency_candidates(
    passes: PassMatrix, trusted: Sequence[int], codes: Sequence[str]
) -> list[int]:
    """Codes passing every trusted test, the first of each distinct text (timing the same
    program twice would only measure noise). None without trusted tests."""
    if not trusted:
        return []
    seen: set[str] = set()
    found = []
    for i, row in enumerate(passes):
        if all(row[j] for j in trusted) and codes[i] not in seen:
            seen.add(codes[i])
            found.append(i)
    return found


def efficiency_pair(
    times_ms: Sequence[Sequence[float]], *, min_speedup: float
) -> tuple[int, int] | None:
    """(fastest, slowest) by minimum repeated CPU time, or None when the gap is within noise:
    the gap between their best runs must exceed the spread (max − min) of either program's
    repeats, and the slowest's best run must be at least ``min_speedup`` times the fastest's.

    >>> efficiency_pair([[10.0, 12.0], [2.0, 2.5]], min_speedup=1.1)
    (1, 0)
    >>> efficiency_pair([[2.8, 3.0], [2.0, 2.9]], min_speedup=1.1) is None
    True
    """
    if len(times_ms) < 2:
        return None
    if any(not runs for runs in times_ms):
        raise ValueError("every candidate needs at least one timed run")
    best = [min(runs) for runs in times_ms]
    fast = min(range(len(best)), key=lambda i: (best[i], i))
    slow = max(range(len(best)), key=lambda i: (best[i], -i))
    gap = best[slow] - best[fast]
    spread = max(max(times_ms[i]) - best[i] for i in (fast, slow))
    if fast == slow or gap <= spread:
        return None
    if best[slow] < min_speedup * best[fast]:
        return None
    return fast, slow
