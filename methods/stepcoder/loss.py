"""PPO with FGO's token mask, as pure functions on per-token tensors.

The kernel's own PPO step (trl's PPO takes a reward *model* and has no mask hook). Per completion
of T tokens, as trl's ``PPOTrainer`` (0.19) computes it:

- rewards: r_t = −β (log π_old(y_t) − log π_ref(y_t)) (the k1 KL estimate), plus the execution
  reward R on the last token;
- GAE: δ_t = r_t + γ V_{t+1} − V_t (V_T = 0), A_t = δ_t + γλ A_{t+1}; returns G_t = A_t + V_t;
- advantages whitened over the step's masked-in tokens (m_t = 1);
- policy loss (FGO): per completion −Σ_t m_t · min(ρ_t A_t, clip(ρ_t, 1 ± ε) A_t) / Σ_t m_t with
  ρ_t = π_θ(y_t) / π_old(y_t) and m_t = 0 on tokens FGO masks (:mod:`methods.stepcoder.fgo`),
  averaged over the completions (the sum over t runs over one completion in the paper's loss);
- value loss: ½ · mean_t max((V_t − G_t)², (clip(V_t, V_old ± ε_v) − G_t)²) over every token,
  masked or not: GAE reads V at every token, so the critic must predict returns at all of them.
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


def whiten(tensors: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Shift and scale ``tensors`` by the mean and (unbiased) variance of their masked-in values
    (mask 1) only, as trl's ``masked_whiten`` does over its response mask: FGO's masked tokens
    take no part in the loss, so they take none in the statistics either. Fewer than two
    masked-in values: only centred (none: unchanged).

    >>> [t.tolist() for t in whiten([torch.tensor([1.0, 3.0, 100.0])],
    ...                             [torch.tensor([1.0, 1.0, 0.0])])]
    [[-0.7071067690849304, 0.7071067690849304, 69.29646301269531]]
    """
    flat, kept = torch.cat(list(tensors)), torch.cat(list(masks)) > 0
    values = flat[kept]
    if values.numel() == 0:
        return list(tensors)
    if values.numel() < 2:
        return [tensor - values.mean() for tensor in tensors]
    scale = torch.rsqrt(values.var() + WHITEN_EPSILON)
    return [(tensor - values.mean()) * scale for tensor in tensors]


def clipped_policy_loss(
    logprobs: Sequence[torch.Tensor],
    old_logprobs: Sequence[torch.Tensor],
    advantages: Sequence[torch.Tensor],
    masks: Sequence[torch.Tensor],
    clip_range: float,
) -> tuple[torch.Tensor, float]:
    """FGO's masked PPO policy loss (StepCoder's eq. for L^FGO), per completion
    −Σ_t m_t min(ρ_t A_t, clip(ρ_t, 1 ± ε) A_t) / Σ_t m_t, averaged over the completions; and
    the fraction of masked-in tokens whose ratio was clipped. A completion with no masked-in
    token adds 0 (it still counts in the average, so a micro-batch's share of the batch stays
    its share of completions); the graph is kept, so backward runs on an all-masked batch.

    >>> loss, clipped = clipped_policy_loss(
    ...     [torch.log(torch.tensor([1.5, 1.0])), torch.log(torch.tensor([0.5]))],
    ...     [torch.zeros(2), torch.zeros(1)],
    ...     [torch.tensor([1.0, 2.0]), torch.tensor([-1.0])],
    ...     [torch.tensor([1.0, 0.0]), torch.tensor([1.0])], 0.2)
    >>> round(float(loss), 4), clipped  # -(min(1.5, 1.2) * 1 / 1 + min(-0.5, -0.8) / 1) / 2
    (-0.2, 1.0)
    """
    losses, clipped_tokens, kept_tokens = [], 0.0, 0.0
    for new, old, advantage, mask in zip(logprobs, old_logprobs, advantages, masks, strict=True):
        ratio = torch.exp(new - old)
        unclipped = -advantage * ratio
        clipped = -advantage * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
        per_token = torch.maximum(unclipped, clipped) * mask
        kept = float(mask.sum())
        losses.append(per_token.sum() / kept if kept else per_token.sum())
        clipped_tokens += float(((clipped > unclipped).float() * mask).sum())
        kept_tokens += kept
    if not losses:
        raise ValueError("the policy loss needs at least one completion")
    return torch.stack(losses).mean(), clipped_tokens / kept_tokens if kept_tokens else 0.0


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
