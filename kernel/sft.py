"""Supervised fine-tuning on reference solutions, with the prompt's labels masked.

Used for a warm start before RL (a policy that never compiles gets no learning signal), by RLTF's
alternating supervised steps, and by CYCLE's first phase. The loss is the mean cross-entropy of
the target tokens only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch

from crucible.kernel.progress import progress_bar

IGNORE_INDEX = -100


def encode_pair(tokenizer: Any, prompt: str, target: str) -> tuple[list[int], list[int]]:
    """Token ids of ``prompt + target`` and labels that ignore the prompt's tokens.

    The prompt is encoded first and the target's tokens are those of the whole text past the
    prompt's, so the boundary matches what the sampler continues from."""
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    full_ids = list(tokenizer(prompt + target, add_special_tokens=False)["input_ids"])
    if full_ids[: len(prompt_ids)] != prompt_ids:
        full_ids = prompt_ids + list(tokenizer(target, add_special_tokens=False)["input_ids"])
    eos = tokenizer.eos_token_id
    if eos is not None:
        full_ids.append(int(eos))
    labels = [IGNORE_INDEX] * len(prompt_ids) + full_ids[len(prompt_ids) :]
    return full_ids, labels


def supervised_loss(
    model: Any,
    batch: Sequence[tuple[list[int], list[int]]],
    pad_token_id: int,
    attention_masks: Sequence[list[int]] | None = None,
) -> torch.Tensor:
    """Mean cross-entropy over the labelled tokens of a batch of (ids, labels) pairs.
    ``attention_masks`` lets a caller hide tokens from attention (CYCLE's past-generation
    masking); by default every real token is attended."""
    device = next(model.parameters()).device
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long, device=device)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long, device=device)
    attention = torch.zeros((len(batch), width), dtype=torch.long, device=device)
    for row, (ids, row_labels) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids, device=device)
        labels[row, : len(ids)] = torch.tensor(row_labels, device=device)
        mask = attention_masks[row] if attention_masks is not None else [1] * len(ids)
        attention[row, : len(ids)] = torch.tensor(mask, device=device)
    output = model(input_ids=input_ids, attention_mask=attention, labels=labels)
    return output.loss  # type: ignore[no-any-return]


def fine_tune(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    *,
    epochs: int,
    lr: float,
    batch_size: int = 8,
    seed: int = 0,
    weight_decay: float = 0.0,
    attention_mask: Callable[[int, list[int]], list[int]] | None = None,
    progress: bool = False,
) -> list[float]:
    """Train on (prompt, target) pairs for ``epochs``; returns the mean loss of each epoch.

    ``attention_mask(i, ids)``, when given, is called each time pair ``i`` (token ids ``ids``)
    enters a batch and returns its attention mask, so a mask can be drawn afresh every epoch
    (CYCLE's past-generation masking); by default every token is attended. ``progress`` shows
    a bar of batches with the latest loss on stderr (a warm start runs for minutes)."""
    if not pairs:
        raise ValueError("no (prompt, target) pairs to fine-tune on")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoded = [encode_pair(tokenizer, prompt, target) for prompt, target in pairs]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    rng = random.Random(seed)
    history = []
    model.train()
    batches = -(-len(encoded) // batch_size)
    with progress_bar("SFT", epochs * batches, enabled=progress) as bar:
        for epoch in range(epochs):
            order = list(range(len(encoded)))
            rng.shuffle(order)
            losses = []
            for start in range(0, len(order), batch_size):
                indices = order[start : start + batch_size]
                batch = [encoded[i] for i in indices]
                masks = None
                if attention_mask is not None:
                    masks = [attention_mask(i, encoded[i][0]) for i in indices]
                loss = supervised_loss(model, batch, int(pad), masks)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(float(loss.detach()))
                bar.advance(note=f"epoch {epoch + 1}/{epochs} loss {losses[-1]:.3f}")
            history.append(sum(losses) / len(losses))
    model.eval()
    return history
