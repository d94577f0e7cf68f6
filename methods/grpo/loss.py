"""GRPO's advantages and policy-gradient loss as pure functions (DeepSeekMath eq. 3).

With one policy update per batch of rollouts (on-policy), the clipped ratio of PPO equals 1 and
its gradient is that of ``A_i * log pi(y_i,t)``; the loss below is that, averaged as configured.
No KL term: with beta = 0 (DAPO, Dr. GRPO) no reference model is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def group_advantages(
    rewards: Sequence[float], groups: Sequence[int], *, scale: bool, epsilon: float
) -> list[float]:
    """A_i = (r_i - mean(r_group)) / (std(r_group) + epsilon), per group id."""
    by_group: dict[int, list[float]] = {}
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
        advantages.append(centred / (std + epsilon) if scale else centred)
    return advantages


def policy_loss(
    logprobs: Sequence[torch.Tensor], advantages: Sequence[float], normalization: str
) -> torch.Tensor:
    """-mean(A_i * log pi(y_i,t)), averaged over tokens or over sequences."""
    terms = [-advantage * tokens for tokens, advantage in zip(logprobs, advantages, strict=True)]
    if normalization == "token":
        return torch.cat(terms).sum() / max(1, sum(t.numel() for t in terms))
    return torch.stack([t.mean() if t.numel() else t.sum() for t in terms]).mean()
