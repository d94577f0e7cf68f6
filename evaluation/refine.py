"""CYCLE's refine prompt (Ding et al. 2024, arXiv 2403.18746): the failing code and its execution
feedback, both commented out, then a request for a good solution.

The prompt ends by restating the task's own prompt when the task is a continuation (HumanEval
style), so the refined completion is assembled into a program exactly like the first attempt.
"""

from __future__ import annotations

from crucible.evaluation.feedback import comment_out
from crucible.evaluation.tasks import Task

BAD_SOLUTION = "### Bad Solution:"
EXECUTION_FAILURE = "### Execution Failure:"
GOOD_SOLUTION = "### Good solution:"


def refine_prompt(task: Task, completion: str, feedback: str) -> str:
    """Description, the faulty program commented out, the feedback commented out, then the
    cue for the good solution."""
    description = task.prompt.rstrip("\n")
    faulty = task.program(completion)
    restated = task.prompt if task.layout == "prompt_plus_completion" else ""
    return (
        f"{description}\n{BAD_SOLUTION}\n{comment_out(faulty)}\n"
        f"{EXECUTION_FAILURE}\n{comment_out(feedback)}\n{GOOD_SOLUTION}\n{restated}"
    )
