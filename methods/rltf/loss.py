"""RLTF's RL loss: per-token returns times log-probabilities, averaged over the batch's tokens.

The authors' ``CodeGenForCausalLM.forward`` computes ``-(rl_probs * rl_rewards).mean()`` over
every labelled token of the batch: L_rl = −Σ_i Σ_t r_{i,t} · log π(y_{i,t}) / Σ_i T_i.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def token_weighted_loss(
    logprobs: Sequence[torch.Tensor], returns: Sequence[Sequence[float]]
) -> torch.Tensor:
    """−mean over all tokens of r_t · log π(y_t); ``returns[i]`` has one value per token of
    completion i.

    >>> float(token_weighted_loss([torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0])],
    ...                           [[1.0, 0.5], [-2.0, 1.0]]))  # -(-1 - 1 + 6 - 1) / 4
    -0.75
    """
    terms = []
    for index, (tokens, weights) in enumerate(zip(logprobs, returns, strict=True)):
        if tokens.numel() != len(weights):
            raise ValueError(
                f"completion {index} has {tokens.numel()} tokens but {len(weights)} returns"
            )
        terms.append(-tokens * torch.tensor(weights, dtype=tokens.dtype, device=tokens.device))
    count = sum(term.numel() for term in terms)
    return torch.cat(terms).sum() / max(1, count)
