"""Batched sampling that records what policy-gradient losses need about every completion token.

A :class:`Sample` carries the completion's token ids, the log-probability of each token under the
policy, the characters each token produced (so sandbox line numbers map back to tokens) and why
generation ended. The loop is our own rather than ``model.generate``: ``generate`` can only return
full-vocabulary logits for every step (steps x rows x vocab floats: gigabytes for a 49k vocabulary
at 512 tokens), whereas the loop keeps one float per token; it also draws from a private
``torch.Generator``, so a seed reproduces a batch without touching the global RNG.

Log-probabilities are those of the *untempered* policy, ``log_softmax(raw logits)``, whatever the
sampling temperature and top-p: losses compare them with ``log π(y_t)`` from a training forward
pass, which has no temperature. (They are therefore not the behaviour policy's probabilities when
T ≠ 1 or top_p < 1; a method that needs an exact importance ratio against the sampling
distribution must sample with T = 1, top_p = 1.) They are computed in float32 from the same
forward pass that chose the token, with the KV cache, so they match a fresh teacher-forced forward
pass up to floating-point noise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import torch

from crucible.kernel.config import SamplingConfig
from crucible.kernel.progress import progress_bar
from crucible.kernel.token_text import TokenBytes, decode_with_offsets
from crucible.kernel.usage import METER

if TYPE_CHECKING:
    from crucible.kernel.models import CausalLM

__all__ = ["FinishReason", "Sample", "Sampler", "format_prompt"]

FinishReason = Literal["eos", "stop", "length"]


@dataclass(frozen=True, eq=False)
class Sample:
    """One completion of one prompt.

    ``completion_ids`` includes the end-of-sequence token when ``finish_reason == "eos"`` (its
    log-probability is what teaches the model to stop); that token adds no text and its offset is
    the empty span at the end. A completion cut at a stop sequence keeps only the tokens that end
    before the stop sequence begins, so ``completion`` is exactly the text of ``completion_ids``
    (it may lack a few characters before the stop sequence when one token straddled it).
    """

    prompt: str
    """The prompt text exactly as given to :meth:`Sampler.sample` (already formatted)."""
    completion: str
    """The completion text, cut before the first stop sequence; what the sandbox should run."""
    prompt_ids: list[int]
    """Token ids of the prompt (no padding)."""
    completion_ids: list[int]
    """Token ids of the completion, the eos token included when generation ended with one."""
    logprobs: torch.Tensor
    """float32, shape ``[len(completion_ids)]``, on CPU: ``log_softmax(raw logits)[token]``."""
    offsets: list[tuple[int, int]]
    """Per completion token, its ``(start, end)`` characters in ``completion``
    (see :mod:`kernel.token_text` for the rule on split multi-byte characters)."""
    finish_reason: FinishReason
    """``"eos"``: the model ended; ``"stop"``: a stop sequence was hit; ``"length"``: cut at
    ``max_new_tokens``."""

    @property
    def finished(self) -> bool:
        """True when the model ended on its own (eos or stop sequence), not at the length cap."""
        return self.finish_reason != "length"


def format_prompt(
    tokenizer: Any, text: str, chat: bool, system: str | None = None, answer_prefix: str = ""
) -> str:
    """The full model input for a task ``text``, as a string the sampler encodes verbatim.

    ``chat=True`` wraps ``text`` as a user turn with the tokenizer's chat template and opens the
    assistant turn; ``system`` (if given) is a system turn before it. ``chat=False`` returns the
    text for plain continuation, prefixed with the BOS token when the tokenizer would add one
    itself (Llama-style base models expect it). Special tokens live in the string, not in an
    ``add_special_tokens`` flag, so that what was formatted is exactly what the model sees.
    ``answer_prefix`` (:attr:`kernel.plugin.Query.answer_prefix`) ends the input: the beginning of
    the answer, which the model continues (inside the assistant's turn with ``chat=True``).
    """
    return _formatted(tokenizer, text, chat, system) + answer_prefix


def _formatted(tokenizer: Any, text: str, chat: bool, system: str | None) -> str:
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("chat=True but the tokenizer has no chat template; use chat=False")
        messages = [{"role": "user", "content": text}]
        if system is not None:
            messages.insert(0, {"role": "system", "content": system})
        rendered = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return cast(str, rendered)
    if system is not None:
        raise ValueError("a system message needs chat=True")
    bos = tokenizer.bos_token
    if bos and not text.startswith(bos) and _adds_bos(tokenizer):
        return str(bos) + text
    return text


def _adds_bos(tokenizer: Any) -> bool:
    ids = tokenizer("", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == tokenizer.bos_token_id


class Sampler:
    """Samples completions from ``model`` with left-padded batches and a KV cache.

    The model is put in eval mode while sampling (no dropout) and restored afterwards. Each call
    without an explicit ``seed`` uses ``cfg.seed + k`` for the k-th call, so a run replays
    exactly while successive calls draw different samples.
    """

    def __init__(self, model: CausalLM, tokenizer: Any, cfg: SamplingConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        self._token_bytes = TokenBytes(tokenizer)
        self._eos_ids = _eos_ids(model, tokenizer)
        pad = tokenizer.pad_token_id
        self._pad_id: int = pad if pad is not None else min(self._eos_ids, default=0)
        self._stops = [s.encode("utf-8") for s in cfg.stop]
        self._calls = 0

    def sample(
        self,
        prompts: Sequence[str],
        n: int | None = None,
        greedy: bool = False,
        seed: int | None = None,
        progress: bool = False,
    ) -> list[list[Sample]]:
        """``n`` completions (default ``cfg.n``) for each prompt: ``result[i][j]`` is the j-th
        completion of ``prompts[i]``.

        Prompts are encoded verbatim (no special tokens added: see :func:`format_prompt`).
        ``greedy=True`` decodes the argmax once per prompt and repeats that sample ``n`` times
        (the same object), the baseline RLTF and CodeRL subtract. ``progress`` shows a bar of
        generated samples on stderr.
        """
        count = self.cfg.n if n is None else n
        if count < 1:
            raise ValueError(f"n must be >= 1, got {count}")
        call_seed = self.cfg.seed + self._calls if seed is None else seed
        self._calls += 1
        encoded = [self._encode(p, i) for i, p in enumerate(prompts)]
        per_row = 1 if greedy else count
        rows = [i for i in range(len(prompts)) for _ in range(per_row)]
        device = next(self.model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(call_seed)
        samples: list[Sample] = []
        began = time.perf_counter()
        was_training = self.model.training
        self.model.eval()
        try:
            with progress_bar("generating", len(rows), enabled=progress) as bar:
                for begin in range(0, len(rows), self.cfg.batch_size):
                    chunk = rows[begin : begin + self.cfg.batch_size]
                    decoded = self._decode([encoded[i] for i in chunk], generator, greedy, device)
                    for i, (ids, logprobs, reason) in zip(chunk, decoded, strict=True):
                        samples.append(self._finish(prompts[i], encoded[i], ids, logprobs, reason))
                    bar.advance(len(chunk))
        finally:
            self.model.train(was_training)
        METER.generated(
            len(samples), sum(len(s.completion_ids) for s in samples), time.perf_counter() - began
        )
        if greedy:
            return [[samples[i]] * count for i in range(len(prompts))]
        return [samples[i * count : (i + 1) * count] for i in range(len(prompts))]

    def _encode(self, prompt: str, index: int) -> list[int]:
        ids = list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if not ids:
            raise ValueError(f"prompt {index} encodes to no tokens; format it with format_prompt")
        return ids

    @torch.no_grad()
    def _decode(
        self,
        prompts: list[list[int]],
        generator: torch.Generator,
        greedy: bool,
        device: torch.device,
    ) -> list[tuple[list[int], torch.Tensor, FinishReason]]:
        """Generate for one batch: per row, the new token ids, their log-probs and the reason."""
        rows, width = len(prompts), max(len(p) for p in prompts)
        input_ids = torch.full((rows, width), self._pad_id, dtype=torch.long)
        attention = torch.zeros((rows, width), dtype=torch.long)
        for r, ids in enumerate(prompts):  # left padding: every row's next token is at the end
            input_ids[r, width - len(ids) :] = torch.tensor(ids)
            attention[r, width - len(ids) :] = 1
        input_ids, attention = input_ids.to(device), attention.to(device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)

        tokens: list[torch.Tensor] = []
        logprobs: list[torch.Tensor] = []
        lengths = [0] * rows
        reasons: list[FinishReason] = ["length"] * rows
        texts = [bytearray() for _ in range(rows)]
        done = torch.zeros(rows, dtype=torch.bool, device=device)
        past: Any = None
        step_ids, step_positions = input_ids, positions
        for step in range(self.cfg.max_new_tokens):
            out = self.model(
                input_ids=step_ids,
                attention_mask=attention,
                position_ids=step_positions,
                past_key_values=past,
                use_cache=True,
            )
            past = out.past_key_values
            logits = out.logits[:, -1, :].float()
            chosen = logits.argmax(-1) if greedy else self._draw(logits, generator)
            chosen = torch.where(done, torch.full_like(chosen, self._pad_id), chosen)
            step_logprobs = torch.log_softmax(logits, dim=-1).gather(1, chosen[:, None])
            tokens.append(chosen.cpu())
            logprobs.append(step_logprobs.squeeze(1).cpu())
            for r, token in enumerate(chosen.tolist()):
                if reasons[r] != "length" or lengths[r] != step:
                    continue  # already finished
                lengths[r] = step + 1
                if token in self._eos_ids:
                    reasons[r] = "eos"
                elif self._stops and self._hit_stop(texts[r], token):
                    reasons[r] = "stop"
            done = torch.tensor([reason != "length" for reason in reasons], device=device)
            if bool(done.all()):
                break
            attention = torch.cat([attention, attention.new_ones((rows, 1))], dim=1)
            step_ids, step_positions = chosen[:, None], step_positions[:, -1:] + 1

        all_tokens = torch.stack(tokens, dim=1)
        all_logprobs = torch.stack(logprobs, dim=1)
        return [
            (all_tokens[r, : lengths[r]].tolist(), all_logprobs[r, : lengths[r]], reasons[r])
            for r in range(rows)
        ]

    def _draw(self, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Sample one token per row at ``cfg.temperature`` from the top-``cfg.top_p`` nucleus."""
        probs = torch.softmax(logits / self.cfg.temperature, dim=-1)
        if self.cfg.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            # Drop a token once the mass before it already reaches top_p (the top one always stays).
            outside = (sorted_probs.cumsum(-1) - sorted_probs) >= self.cfg.top_p
            sorted_probs = sorted_probs.masked_fill(outside, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)

    def _hit_stop(self, text: bytearray, token: int) -> bool:
        """Append ``token``'s bytes and report whether a stop sequence now ends in the text.

        Only the tail that the new bytes can complete is searched: linear over a completion.
        """
        raw = self._token_bytes[token]
        text += raw
        window = len(raw) + max(len(s) for s in self._stops) - 1
        tail = bytes(text[-window:])
        return any(stop in tail for stop in self._stops)

    def _finish(
        self,
        prompt: str,
        prompt_ids: list[int],
        ids: list[int],
        logprobs: torch.Tensor,
        reason: FinishReason,
    ) -> Sample:
        """Cut a raw generation at its first stop sequence and attach text and offsets."""
        body = ids[:-1] if reason == "eos" else ids
        text, offsets = decode_with_offsets(self._token_bytes, body)
        cut = min((c for c in (text.find(s) for s in self.cfg.stop) if c >= 0), default=-1)
        if cut >= 0:
            keep = 0
            while keep < len(body) and offsets[keep][1] <= cut:
                keep += 1
            body, reason = body[:keep], "stop"
            text, offsets = decode_with_offsets(self._token_bytes, body)
        completion_ids = body
        if reason == "eos":
            completion_ids = [*body, ids[-1]]
            offsets = [*offsets, (len(text), len(text))]
        return Sample(
            prompt=prompt,
            completion=text,
            prompt_ids=prompt_ids,
            completion_ids=completion_ids,
            logprobs=logprobs[: len(completion_ids)].clone(),
            offsets=offsets,
            finish_reason=reason,
        )


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """Every id that ends a completion: the generation config's eos ids and the tokenizer's."""
    found: set[int] = set()
    generation = getattr(model, "generation_config", None)
    configured = getattr(generation, "eos_token_id", None)
    if isinstance(configured, int):
        found.add(configured)
    elif configured is not None:
        found.update(int(i) for i in configured)
    if tokenizer.eos_token_id is not None:
        found.add(int(tokenizer.eos_token_id))
    return frozenset(found)
