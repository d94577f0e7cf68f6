"""Log-probabilities of completion tokens under a model: the one forward pass every loss needs.

Sequences are ``prompt + completion`` token ids, right-padded into one batch; the logits at
position t predict token t+1, so the completion's log-probs are read from the positions just
before each completion token. Methods import it from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from transformers import PreTrainedModel


@contextmanager
def dropout_off(model: torch.nn.Module) -> Iterator[None]:
    """Run the block with ``model`` in eval mode (every dropout off, LoRA's adapter dropout
    included), then restore the mode it had; gradients still flow.

    Why: an importance ratio π_θ / π_old compares two forward passes of the same weights. With
    dropout on, each pass draws its own dropout masks, so the ratio of the first PPO epoch is not
    1 although the weights have not moved. Both passes therefore run without dropout, as trl's
    PPO trainer disables dropout in its policy and value models.
    """
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def completion_logprobs(
    model: PreTrainedModel,
    prompt_ids: Sequence[Sequence[int]],
    completion_ids: Sequence[Sequence[int]],
    pad_token_id: int,
    *,
    return_hidden: bool = False,
) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """Per-token log-probs of each completion (with gradient when enabled) and, if asked, the
    last hidden state at the positions that predict each completion token (for value heads)."""
    device = next(model.parameters()).device
    lengths = [len(p) + len(c) for p, c in zip(prompt_ids, completion_ids, strict=True)]
    width = max(lengths)
    input_ids = torch.full((len(lengths), width), pad_token_id, dtype=torch.long, device=device)
    attention = torch.zeros((len(lengths), width), dtype=torch.long, device=device)
    for row, (prompt, completion) in enumerate(zip(prompt_ids, completion_ids, strict=True)):
        tokens = torch.tensor([*prompt, *completion], dtype=torch.long, device=device)
        input_ids[row, : len(tokens)] = tokens
        attention[row, : len(tokens)] = 1
    output = model(
        input_ids=input_ids, attention_mask=attention, output_hidden_states=return_hidden
    )
    logprobs = torch.log_softmax(output.logits[:, :-1].float(), dim=-1)
    targets = input_ids[:, 1:].unsqueeze(-1)
    token_logprobs = logprobs.gather(-1, targets).squeeze(-1)
    results: list[torch.Tensor] = []
    hidden: list[torch.Tensor] | None = [] if return_hidden else None
    for row, (prompt, completion) in enumerate(zip(prompt_ids, completion_ids, strict=True)):
        start, end = len(prompt) - 1, len(prompt) - 1 + len(completion)
        results.append(token_logprobs[row, start:end])
        if hidden is not None:
            hidden.append(output.hidden_states[-1][row, start:end])
    return results, hidden
