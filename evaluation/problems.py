"""Evaluation tasks as the kernel's training problems."""

from __future__ import annotations

from collections.abc import Sequence

from crucible.evaluation.tasks import Task
from crucible.kernel.plugin import Problem


def to_problem(task: Task) -> Problem:
    """The kernel's view of a task: the prompt, its tests, and the prelude the completion
    continues (so verdict lines index the completion). The task itself rides along in
    ``metadata["task"]`` for methods that build prompts from it (CYCLE's refine prompt)."""
    return Problem(
        problem_id=task.task_id,
        prompt=task.prompt,
        tests=task.tests,
        program_prefix=task.prelude(),
        reference_solution=task.canonical_completion or "",
        metadata={
            "source": task.source,
            "difficulty": task.difficulty,
            "entry_point": task.entry_point,
            "scope": task.scope,
            "task": task,
        },
    )


def to_problems(tasks: Sequence[Task]) -> list[Problem]:
    return [to_problem(task) for task in tasks]
