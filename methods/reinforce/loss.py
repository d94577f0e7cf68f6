"""REINFORCE's advantages and loss as pure functions (Williams 1992).

Williams (1992, *Simple statistical gradient-following algorithms for connectionist reinforcement
learning*, Machine Learning 8: 229-256) defines the REINFORCE update

    Δθ = α · (r − b) · ∇θ ln π(y | x)

with a *reinforcement baseline* b that may depend on anything except the sampled y: subtracting
it leaves the expected update on the gradient of expected reward and only changes its variance.
For a completion of T tokens, ln π(y | x) = Σ_t ln π(y_t | x, y_<t), so every token of a
completion carries the same advantage A = r − b.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch


def prompt_mean_advantages(rewards: Sequence[float], groups: Sequence[Hashable]) -> list[float]:
    """A_i = r_i − mean(r_j : j in i's group): Williams's baseline b estimated, per prompt,
    from the prompt's own samples of this step.

    The mean includes r_i itself, so each group's advantages sum to 0 and a group of one sample
    gets 0. Because the other samples are independent of y_i, the expected update is the
    unbiased one scaled by (n − 1)/n for a group of n; the learning rate absorbs that.

    >>> prompt_mean_advantages([1.0, 0.0, -1.0, -1.0], ["a", "a", "b", "b"])
    [0.5, -0.5, 0.0, 0.0]
    """
    totals: dict[Hashable, tuple[float, int]] = {}
    for reward, group in zip(rewards, groups, strict=True):
        total, count = totals.get(group, (0.0, 0))
        totals[group] = (total + reward, count + 1)
    return [
        reward - totals[group][0] / totals[group][1]
        for reward, group in zip(rewards, groups, strict=True)
    ]


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


def reinforce_loss(logprobs: Sequence[torch.Tensor], advantages: Sequence[float]) -> torch.Tensor:
    """−Σ_i Σ_t A_i · ln π(y_i,t) / Σ_i T_i: the negated REINFORCE objective (Williams 1992),
    averaged over every completion token of the batch.

    ``logprobs[i]`` holds the per-token log-probs of completion i (shape ``[T_i]``, with grad);
    a gradient-descent step on this loss raises ln π of completions with A_i > 0 and lowers those
    with A_i < 0.

    >>> float(reinforce_loss([torch.tensor([-1.0, -2.0]), torch.tensor([-3.0])], [1.0, -2.0]))
    -1.0
    """
    terms = [-advantage * tokens for tokens, advantage in zip(logprobs, advantages, strict=True)]
    tokens = sum(term.numel() for term in terms)
    return torch.cat(terms).sum() / max(1, tokens)
