"""CYCLE's Phase II data as functions: refinement examples, BM25 targets, mixing and masking.

CYCLE (Ding et al. 2024, arXiv 2403.18746) teaches a model to repair its own failures. A failing
sample of the Phase I model becomes a refinement example: the prompt is the description, the
faulty program commented out, the first failing test's execution feedback commented out, and
``### Good solution:`` (:func:`evaluation.refine.refine_prompt`, the same function the inference
loop uses); the target is the reference solution most similar to the faulty code (BM25, among
all of the task's references). Passing samples stay as (description → own code). Refinement
examples are mixed with code-generation examples (the passing samples, then Phase I data) so
that they are the configured share of the mix, and during training each token of the past
generation (the commented-out failing completion, not the instruction, signature or feedback)
is hidden from attention with probability p (past-generation masking), so the model cannot
simply copy its past attempt.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from crucible.evaluation.refine import refine_prompt
from crucible.evaluation.tasks import Task
from crucible.kernel.sampler import format_prompt
from crucible.sandbox_service.models import ExecuteResponse, Status

ExampleKind = Literal["refine", "passing", "phase1"]

_CODE_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|[^\w\s]")


@dataclass(frozen=True)
class Example:
    """One supervised example: the prompt (labels masked) and the target the model learns."""

    prompt: str
    target: str
    kind: ExampleKind
    problem_id: str
    past_generation: tuple[int, int] | None = None
    """Characters of ``prompt`` holding the past generation (refinement examples only)."""


def code_tokens(code: str) -> list[str]:
    """BM25 terms of a program: identifiers, numbers and single punctuation characters.

    >>> code_tokens("return x+1")
    ['return', 'x', '+', '1']
    """
    return _CODE_TOKEN.findall(code)


def nearest_solution(
    faulty: str,
    candidates: Sequence[str],
    how: Literal["bm25", "random"],
    rng: random.Random,
) -> str:
    """The candidate solution to learn from for ``faulty``: the best BM25 match (Okapi BM25
    from ``rank-bm25``, first on ties) or a random one."""
    if not candidates:
        raise ValueError("no candidate solutions to choose a target from")
    if how == "random":
        return rng.choice(list(candidates))
    if len(candidates) == 1:
        return candidates[0]
    from rank_bm25 import BM25Okapi

    scores = BM25Okapi([code_tokens(c) for c in candidates]).get_scores(code_tokens(faulty))
    best = max(range(len(candidates)), key=lambda i: (float(scores[i]), -i))
    return candidates[best]


def refinement_examples(
    task: Task,
    attempts: Sequence[tuple[str, ExecuteResponse]],
    *,
    target: Literal["bm25", "random"],
    keep_passing: bool,
    rng: random.Random,
) -> list[Example]:
    """Phase II examples from ``attempts`` (completion, verdict on ``task``): a refinement
    example per failure (none without a reference solution to learn from), the completion
    itself per pass when ``keep_passing``; sandbox failures say nothing about the code and are
    skipped. The target is chosen among every reference of the task (``reference_completions``)."""
    examples = []
    solutions = task.reference_completions
    for completion, verdict in attempts:
        if verdict.status is Status.SANDBOX_ERROR:
            continue
        if verdict.status is Status.PASSED:
            if keep_passing:
                examples.append(Example(task.prompt, completion, "passing", task.task_id))
            continue
        if not solutions:
            continue
        prompt = refine_prompt(task, completion, verdict)
        examples.append(
            Example(
                prompt.text,
                nearest_solution(completion, solutions, target, rng),
                "refine",
                task.task_id,
                prompt.past_generation,
            )
        )
    return examples


def mix(
    examples: Sequence[Example],
    phase1: Sequence[Example],
    ratio: float,
    rng: random.Random,
    refine_data: bool = True,
) -> list[Example]:
    """Every refinement example of ``examples`` plus code-generation examples, so that
    refinement is ``ratio`` of the mix: round(R · (1 − ratio) / ratio) of them, the passing
    samples of ``examples`` first (drawn without replacement when there are more), then Phase I
    examples (without replacement, whole passes over them first when more are needed than
    exist). Short of code-generation data, the mix holds what there is. ``refine_data=False``
    (the ablation) draws code-generation examples the same way for every place of the mix,
    refinement examples' included."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"mix ratio must be in (0, 1], got {ratio}")
    refine = [e for e in examples if e.kind == "refine"]
    passing = [e for e in examples if e.kind != "refine"]
    wanted = round(len(refine) * (1.0 - ratio) / ratio)
    if not refine_data:
        wanted, refine = wanted + len(refine), []
    if len(passing) >= wanted:
        return [*refine, *rng.sample(passing, wanted)]
    missing = wanted - len(passing)
    drawn: list[Example] = []
    if phase1:
        full, rest = divmod(missing, len(phase1))
        drawn = list(phase1) * full + rng.sample(list(phase1), rest)
    return [*refine, *passing, *drawn]


def refine_share(mixed: Sequence[Example]) -> float:
    """The share of refinement examples in a mix (0 for an empty one)."""
    return sum(1 for e in mixed if e.kind == "refine") / len(mixed) if mixed else 0.0


def model_input(tokenizer: Any, example: Example, chat: bool) -> tuple[str, tuple[int, int] | None]:
    """The example's prompt as the model sees it when sampling and refining
    (:func:`kernel.sampler.format_prompt`: the BOS token or the chat template around it), and
    the past generation's characters in that text. Training on this text keeps the prompts of
    both phases identical to those of Phase II sampling and of the inference loop."""
    text = format_prompt(tokenizer, example.prompt, chat)
    if example.past_generation is None:
        return text, None
    at = text.find(example.prompt)
    if at < 0:
        raise ValueError(
            f"the chat template rewrites the prompt of {example.problem_id}: past-generation "
            "masking cannot find the past generation in it"
        )
    start, end = example.past_generation
    return text, (start + at, end + at)


def past_generation_tokens(tokenizer: Any, prompt: str, chars: tuple[int, int] | None) -> list[int]:
    """Positions of the tokens of ``prompt`` (encoded without special tokens, as
    :func:`kernel.sft.encode_pair` encodes it) that lie wholly inside the characters ``chars``:
    the tokens past-generation masking may hide. A token reaching outside (into the signature
    before or the feedback after) is never hidden."""
    if chars is None or chars[0] >= chars[1]:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("past-generation masking needs a fast tokenizer (character offsets)")
    offsets = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    start, end = chars
    return [t for t, (begin, stop) in enumerate(offsets) if start <= begin and stop <= end]


def pgm_mask(length: int, positions: Sequence[int], rate: float, rng: random.Random) -> list[int]:
    """An attention mask of ``length`` tokens: 1 everywhere except at ``positions``, each set
    to 0 with probability ``rate`` (independently, afresh on every call)."""
    mask = [1] * length
    for position in positions:
        if position < length and rng.random() < rate:
            mask[position] = 0
    return mask
