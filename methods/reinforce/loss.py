"""REINFORCE's moving-average baseline as a pure function (Williams 1992).

Williams (1992, *Simple statistical gradient-following algorithms for connectionist reinforcement
learning*, Machine Learning 8: 229-256) defines the REINFORCE update

    Δθ = α · (r − b) · ∇θ ln π(y | x)

with a *reinforcement baseline* b that may depend on anything except the sampled y: subtracting
it leaves the expected update on the gradient of expected reward and only changes its variance.
For a completion of T tokens, ln π(y | x) = Σ_t ln π(y_t | x, y_<t), so every token of a
completion carries the same advantage A = r − b. The per-prompt mean baseline and the token-averaged
loss are the policy gradient GRPO shares (:mod:`crucible.kernel.policy_gradient`); the
moving-average choice of b below is REINFORCE's own.
"""

from __future__ import annotations

from collections.abc import Sequence


def moving_average(previous: float | None, rewards: Sequence[float], decay: float) -> float:
    """b ← decay · b + (1 − decay) · mean(rewards): the "reinforcement comparison" baseline
    (Sutton 1984) that Williams (1992) discusses as a choice of b. With no previous value, the
    mean itself.

    >>> moving_average(None, [1.0, -1.0], 0.5)
    0.0
    >>> moving_average(1.0, [0.0, 0.0], 0.5)
    0.5
    """
    if not rewards:
        raise ValueError("moving_average needs at least one reward")
    mean = sum(rewards) / len(rewards)
    return mean if previous is None else decay * previous + (1.0 - decay) * mean
