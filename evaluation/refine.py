"""CYCLE's refine prompt (Ding et al. 2024, arXiv 2403.18746): the failing code and its execution
feedback, both commented out, then a request for a good solution.

This module is the one source of truth for the prompt's shape: the inference loop
(:mod:`evaluation.evaluate`) and CYCLE's training data (:mod:`methods.cycle.data`) both build
it with :func:`refine_prompt` from a task, a completion and the sandbox's verdict on it, so the
feedback (each quoted value cut at :data:`evaluation.feedback.MAX_CHARS`) and the layout cannot
differ between training and inference.

The prompt ends by restating the task's own prompt when the task is a continuation (HumanEval
style), so the refined completion is assembled into a program exactly like the first attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from crucible.evaluation.feedback import comment_out, execution_feedback
from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import ExecuteResponse

BAD_SOLUTION = "### Bad Solution:"
EXECUTION_FAILURE = "### Execution Failure:"
GOOD_SOLUTION = "### Good solution:"


@dataclass(frozen=True)
class RefinePrompt:
    """The prompt text and where the past generation lies in it."""

    text: str
    past_generation: tuple[int, int]
    """Characters ``[start, end)`` of the commented-out lines of the failing *completion* (the
    model's own past generation): not the commented copy of the task's prompt (instruction,
    signature) before them, nor the feedback after them. Empty for an empty completion."""


def refine_prompt(task: Task, completion: str, verdict: ExecuteResponse) -> RefinePrompt:
    """Description, the faulty program commented out, the feedback on ``verdict`` (a failing
    verdict on ``completion``) commented out, then the cue for the good solution."""
    feedback = execution_feedback(task, verdict)
    description = task.prompt.rstrip("\n")
    # The prelude ends with a line break, so the program's lines are the prelude's followed by
    # the completion's, and the completion's commented lines close the block.
    block = comment_out(task.program(completion))
    lines = block.split("\n")
    own = len(completion.splitlines())
    block_start = len(description) + 1 + len(BAD_SOLUTION) + 1
    start = block_start + sum(len(line) + 1 for line in lines[: len(lines) - own])
    end = block_start + len(block)
    restated = task.prompt if task.layout == "prompt_plus_completion" else ""
    text = (
        f"{description}\n{BAD_SOLUTION}\n{block}\n"
        f"{EXECUTION_FAILURE}\n{comment_out(feedback)}\n{GOOD_SOLUTION}\n{restated}"
    )
    return RefinePrompt(text, (min(start, end), end))
