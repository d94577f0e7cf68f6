"""CYCLE's Phase II data as functions: refinement examples, BM25 targets, mixing and masking.

CYCLE (Ding et al. 2024, arXiv 2403.18746) teaches a model to repair its own failures. A failing
sample of the Phase I model becomes a refinement example: the prompt is the description, the
faulty program commented out, the first failing test's execution feedback commented out, and
``### Good solution:`` (:func:`evaluation.refine.refine_prompt`, with the feedback of
:func:`evaluation.feedback.execution_feedback`); the target is the canonical solution most
similar to the faulty code (BM25). Passing samples stay as (description → own code). The
refinement data is mixed with Phase I data at a fixed ratio, and during training every prompt
token from ``### Bad Solution:`` on is hidden from attention with probability p (past-generation
masking), so the model cannot simply copy its past attempt; the description is never hidden.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from crucible.evaluation.feedback import execution_feedback
from crucible.evaluation.refine import BAD_SOLUTION, refine_prompt
from crucible.evaluation.tasks import Task
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
    feedback_max_chars: int,
    rng: random.Random,
) -> list[Example]:
    """Phase II examples from ``attempts`` (completion, verdict on ``task``): a refinement
    example per failure (none without a canonical solution to learn from), the completion itself
    per pass when ``keep_passing``; sandbox failures say nothing about the code and are skipped."""
    examples = []
    solutions = [task.canonical_completion] if task.canonical_completion else []
    for completion, verdict in attempts:
        if verdict.status is Status.SANDBOX_ERROR:
            continue
        if verdict.status is Status.PASSED:
            if keep_passing:
                examples.append(Example(task.prompt, completion, "passing", task.task_id))
            continue
        if not solutions:
            continue
        feedback = execution_feedback(task, verdict, feedback_max_chars)
        examples.append(
            Example(
                refine_prompt(task, completion, feedback),
                nearest_solution(completion, solutions, target, rng),
                "refine",
                task.task_id,
            )
        )
    return examples


def mix(
    refinement: Sequence[Example],
    phase1: Sequence[Example],
    ratio: float,
    rng: random.Random,
) -> list[Example]:
    """The refinement examples plus round(R · (1 − ratio) / ratio) Phase I examples, so that
    refinement data is ``ratio`` of the mix; Phase I examples are drawn without replacement,
    whole passes over them first when more are needed than exist. No Phase I data: the
    refinement examples alone."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"mix ratio must be in (0, 1], got {ratio}")
    wanted = round(len(refinement) * (1.0 - ratio) / ratio)
    if not phase1 or wanted == 0:
        return list(refinement)
    full, rest = divmod(wanted, len(phase1))
    drawn = list(phase1) * full + rng.sample(list(phase1), rest)
    return [*refinement, *drawn]


def past_generation_span(tokenizer: Any, prompt: str) -> tuple[int, int] | None:
    """Token positions [start, end) of ``prompt`` (encoded without special tokens, as
    :func:`kernel.sft.encode_pair` encodes it) from ``### Bad Solution:`` to the prompt's end:
    the positions past-generation masking may hide. A token that begins before the marker
    belongs to the description and is outside the span. None for a prompt without the marker."""
    index = prompt.find(BAD_SOLUTION)
    if index < 0:
        return None
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("past-generation masking needs a fast tokenizer (character offsets)")
    offsets = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    start = next((t for t, (begin, _) in enumerate(offsets) if begin >= index), len(offsets))
    return start, len(offsets)


def pgm_mask(
    length: int, span: tuple[int, int] | None, rate: float, rng: random.Random
) -> list[int]:
    """An attention mask of ``length`` tokens: 1 everywhere except positions of ``span``,
    each set to 0 with probability ``rate`` (independently, afresh on every call)."""
    mask = [1] * length
    if span is not None:
        for position in range(span[0], min(span[1], length)):
            if rng.random() < rate:
                mask[position] = 0
    return mask
