"""The group-baselined policy gradient that GRPO and REINFORCE share, as pure functions plus the
one loss hook body both use.

Both methods sample n completions per prompt, subtract a baseline computed over the samples of
the same prompt, and minimise ``-A_i * log pi(y_i,t)`` over the completion tokens (with one
policy update per batch, PPO's clipped ratio is 1 and its gradient is this one). They differ only
in how the advantage is normalised (GRPO may divide by the group's standard deviation; REINFORCE
may use a moving-average baseline instead) and in how the loss is averaged, so those are
parameters here rather than copies in each method. Methods stay independent of each other: each
imports this kernel module, never the other's folder.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import torch

from crucible.kernel.plugin import LossOutput, MethodContext, Rollout, Score
from crucible.kernel.policy import completion_logprobs

Normalization = Literal["token", "sequence"]


def prompt_key(rollout: Rollout) -> tuple[str, str, str]:
    """The group a rollout belongs to: the samples of the same problem and prompt (including a
    curriculum's executed prefix). Keyed by value, not by object identity, so a method that
    rebuilds its queries still groups the samples of one prompt together."""
    query = rollout.query
    return (query.problem.problem_id, query.prompt, query.program_prefix)


def group_advantages(
    rewards: Sequence[float], groups: Sequence[Hashable], *, std_epsilon: float | None = None
) -> list[float]:
    """A_i = r_i - mean(r_group): Williams's (1992) baseline estimated per prompt from the
    prompt's own samples; with ``std_epsilon``, also divided by (std(r_group) + std_epsilon)
    (GRPO, DeepSeekMath eq. 3, population std).

    The mean includes r_i itself, so each group's advantages sum to 0 and a group of one sample
    gets 0.

    >>> group_advantages([1.0, 0.0, -1.0, -1.0], ["a", "a", "b", "b"])
    [0.5, -0.5, 0.0, 0.0]
    """
    by_group: dict[Hashable, list[float]] = {}
    for reward, group in zip(rewards, groups, strict=True):
        by_group.setdefault(group, []).append(reward)
    stats = {}
    for group, values in by_group.items():
        tensor = torch.tensor(values, dtype=torch.float64)
        std = float(tensor.std(unbiased=False)) if len(values) > 1 else 0.0
        stats[group] = (float(tensor.mean()), std)
    advantages = []
    for reward, group in zip(rewards, groups, strict=True):
        mean, std = stats[group]
        centred = reward - mean
        advantages.append(centred if std_epsilon is None else centred / (std + std_epsilon))
    return advantages


def policy_gradient_loss(
    logprobs: Sequence[torch.Tensor], advantages: Sequence[float], normalization: Normalization
) -> torch.Tensor:
    """-mean(A_i * log pi(y_i,t)): over every completion token of the batch (``token``, DAPO
    arXiv 2503.14476, and REINFORCE's per-token average), or per completion, then over
    completions (``sequence``, GRPO).

    ``logprobs[i]`` holds the per-token log-probs of completion i (shape ``[T_i]``, with grad);
    a gradient-descent step raises log pi of completions with A_i > 0 and lowers those with
    A_i < 0.

    >>> lp = [torch.tensor([-1.0, -2.0]), torch.tensor([-3.0])]
    >>> float(policy_gradient_loss(lp, [1.0, -2.0], "token"))
    -1.0
    """
    terms = [-advantage * tokens for tokens, advantage in zip(logprobs, advantages, strict=True)]
    if normalization == "token":
        return torch.cat(terms).sum() / max(1, sum(term.numel() for term in terms))
    return torch.stack([term.mean() if term.numel() else term.sum() for term in terms]).mean()


def policy_gradient_step(
    context: MethodContext,
    rollouts: Sequence[Rollout],
    scores: Sequence[Score],
    normalization: Normalization,
) -> LossOutput:
    """The loss hook of a group-baselined method: one forward pass over the micro-batch, the
    policy-gradient loss of its advantages, and the share of rollouts that carry a gradient
    (``advantage_nonzero_frac``: 0 when every group's samples were rewarded alike)."""
    logprobs, _ = completion_logprobs(
        context.model,
        [rollout.sample.prompt_ids for rollout in rollouts],
        [rollout.sample.completion_ids for rollout in rollouts],
        context.pad_token_id,
    )
    advantages = [score.advantage or 0.0 for score in scores]
    loss = policy_gradient_loss(logprobs, advantages, normalization)
    nonzero = sum(1 for advantage in advantages if advantage != 0.0)
    return LossOutput(loss, {"advantage_nonzero_frac": nonzero / len(advantages)})
