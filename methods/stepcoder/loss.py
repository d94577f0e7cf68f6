"""PPO with FGO's token mask, as pure functions on per-token tensors.

The kernel's own PPO step (trl's PPO takes a reward *model* and has no mask hook). Per completion
of T tokens, as trl's ``PPOTrainer`` (0.19) computes it:

- rewards: r_t = −β (log π_old(y_t) − log π_ref(y_t)) (the k1 KL estimate), plus the execution
  reward R on the last token;
- GAE: δ_t = r_t + γ V_{t+1} − V_t (V_T = 0), A_t = δ_t + γλ A_{t+1}; returns G_t = A_t + V_t;
- advantages whitened over the step's tokens;
- policy loss (FGO, StepCoder eq. 5): −Σ_t m_t · min(ρ_t A_t, clip(ρ_t, 1 ± ε) A_t) / Σ_t m_t with
  ρ_t = π_θ(y_t) / π_old(y_t) and m_t = 1 on executed lines;
- value loss: ½ · mean_t max((V_t − G_t)², (clip(V_t, V_old ± ε_v) − G_t)²) over every token.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

WHITEN_EPSILON = 1e-8  # trl.core.masked_whiten


def kl_penalised_rewards(
    reward: float, logprobs: torch.Tensor, reference_logprobs: torch.Tensor, kl_coef: float
) -> torch.Tensor:
    """Per-token rewards: −kl_coef · (log π_old − log π_ref), with ``reward`` added on the last
    token (an empty completion gets an empty tensor: it has no token to credit).

    >>> kl_penalised_rewards(1.0, torch.tensor([-1.0, -2.0]), torch.tensor([-1.5, -2.0]), 0.1)
    tensor([-0.0500,  1.0000])
    """
    rewards = -kl_coef * (logprobs - reference_logprobs)
    if rewards.numel():
        rewards[-1] += reward
    return rewards


def gae(
    rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns of one completion (V after the last token
    is 0: the episode ends there).

    >>> advantages, returns = gae(torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.25]), 1.0, 0.5)
    >>> advantages, returns
    (tensor([0.1250, 0.7500]), tensor([0.6250, 1.0000]))
    """
    advantages = torch.zeros_like(rewards)
    running = torch.zeros((), dtype=rewards.dtype, device=rewards.device)
    for t in range(rewards.numel() - 1, -1, -1):
        next_value = values[t + 1] if t + 1 < values.numel() else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages, advantages + values


def whiten(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Shift and scale the concatenation of ``tensors`` to mean 0 and (unbiased) variance 1,
    and split it back; fewer than two values are only centred."""
    flat = torch.cat(list(tensors))
    if flat.numel() < 2:
        return [tensor - flat.mean() if flat.numel() else tensor for tensor in tensors]
    whitened = (flat - flat.mean()) * torch.rsqrt(flat.var() + WHITEN_EPSILON)
    return list(whitened.split([tensor.numel() for tensor in tensors]))


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
) -> tuple[torch.Tensor, float]:
    """FGO's masked PPO policy loss over a batch's tokens (flat tensors) and the fraction of
    masked-in tokens whose ratio was clipped. No masked-in token: a zero loss that keeps the
    graph (so backward still runs).

    >>> loss, clipped = clipped_policy_loss(
    ...     torch.log(torch.tensor([1.5, 1.0, 0.5])), torch.zeros(3),
    ...     torch.tensor([1.0, 2.0, -1.0]), torch.tensor([1.0, 0.0, 1.0]), 0.2)
    >>> round(float(loss), 4), clipped  # -(min(1.5, 1.2) * 1 + min(-0.5, -0.8)) / 2
    (-0.2, 1.0)
    """
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    per_token = torch.maximum(unclipped, clipped)
    total = mask.sum()
    if float(total) == 0.0:
        return (per_token * mask).sum(), 0.0
    clip_frac = float(((clipped > unclipped).float() * mask).sum() / total)
    return (per_token * mask).sum() / total, clip_frac


def clipped_value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_range: float
) -> torch.Tensor:
    """½ · mean max((V − G)², (clip(V, V_old ± clip_range) − G)²) over a batch's tokens.

    >>> float(clipped_value_loss(torch.tensor([1.0]), torch.tensor([0.0]),
    ...                          torch.tensor([0.0]), 0.2))
    0.5
    """
    clipped = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
    losses = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    if losses.numel() == 0:
        return values.sum()
    return 0.5 * losses.mean()
