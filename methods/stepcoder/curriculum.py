"""CCCS, the curriculum of code-completion subtasks, as pure functions and a small state.

StepCoder (arXiv 2402.01391, section 3) splits a long generation into completion subtasks: the
prompt holds the requirement plus the canonical solution up to a *start point*, and the policy
writes the rest. Start points are the first lines of the canonical solution's conditional
statements (if / elif / for / while / try; APPS+ ships them as ``scope`` =
``[kind, start_line, end_line]``). A sample with E start points gets about ceil(sqrt(E)) + 1
stages, every ``stride = ceil(E / ceil(sqrt(E)))``-th point from the one nearest the end, then
s* = 0 (plain generation). A sample stays at a stage until the cumulative pass rate of the
completions generated there exceeds rho; then it moves one stage towards the beginning.

A start point here is a number of lines of the reference completion: the prefix is the
reference's first ``k`` lines, so it always ends on a line boundary and the sandbox can subtract
it (with the problem's own prelude) from every reported line number.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Statements whose first line is a start point (ast.If also covers elif).
CONDITIONAL_STATEMENTS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.TryStar)

# Lines as Python's compiler counts them: \n, \r\n and a lone \r end a line, nothing else does.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """``text`` split into lines, each keeping its terminator."""
    return _LINE.findall(text)


def head(text: str, lines: int) -> str:
    """The first ``lines`` lines of ``text``, terminators included."""
    return "".join(source_lines(text)[:lines])


def answer_prefix(stage_head: str) -> str:
    """A stage's head as the model is shown it: without its last newline, which the completion
    then writes.

    A BPE tokenizer merges a line's newline with the next line's indentation (``"\n   "`` is one
    token of tiny-steps' vocabulary; GPT-2-style pre-tokenizers split the same way), so inside
    a body a bare ``"\n"`` token only ever ends a prompt. A prompt cut after the newline ends on
    that token, and the model starts the body again from its first line: from a start that
    passes 44 % of crucible-steps' training tasks, three StepCoder steps with such prompts
    passed none. Cut before it, the prompt ends on a token boundary the model has seen, and
    its first token is the newline and indentation of the next line. The sandbox ends a prelude
    without a newline with one, so the program is the head, an empty line, then the rest."""
    return stage_head.removesuffix("\n")


def conditional_start_lines(source: str) -> list[int]:
    """Sorted, distinct 1-based first lines of the conditional statements of ``source``;
    raises SyntaxError when it does not parse."""
    tree = ast.parse(source)
    return sorted(
        {node.lineno for node in ast.walk(tree) if isinstance(node, CONDITIONAL_STATEMENTS)}
    )


def start_points(
    reference: str, program_prefix: str = "", scope: Sequence[Sequence[Any]] | None = None
) -> list[int]:
    """Start points of one sample, as prefix lengths in lines of ``reference``, ascending.

    Statement lines are those of the whole canonical program ``program_prefix + reference``
    (the coordinates APPS+ ``scope`` uses): from ``scope`` when given, else from the AST (a
    reference that does not parse has none). A statement on the reference's first line would
    leave an empty prefix, which is the final stage s* = 0 anyway, so it is not a point.
    """
    if program_prefix and not program_prefix.endswith("\n"):
        raise ValueError("program_prefix must end with a newline for CCCS prefixes to align")
    offset = len(source_lines(program_prefix))
    if scope is not None:
        starts = [int(entry[1]) for entry in scope]
    else:
        try:
            starts = conditional_start_lines(program_prefix + reference)
        except SyntaxError:
            return []
    reference_lines = len(source_lines(reference))
    prefixes = {start - 1 - offset for start in starts}
    return sorted(lines for lines in prefixes if 1 <= lines < reference_lines)


def ceil_sqrt(count: int) -> int:
    """ceil(sqrt(count)) in integers (no float rounding), for count >= 1."""
    return math.isqrt(count - 1) + 1


def curriculum(points: Sequence[int], stride: int | None = None) -> list[int]:
    """The stages of one sample, first stage first: prefix lengths from the point nearest the
    end towards the beginning, every ``stride``-th point, then 0.

    >>> curriculum([2, 4])  # E = 2: stride ceil(2 / 2) = 1
    [4, 2, 0]
    >>> curriculum([1, 2, 3, 4, 5])  # E = 5: stride ceil(5 / 3) = 2
    [5, 3, 1, 0]
    >>> curriculum([])
    [0]
    """
    ordered = sorted(set(points))
    if not ordered:
        return [0]
    if ordered[0] < 1:
        raise ValueError(f"start points must be positive line counts, got {ordered[0]}")
    count = len(ordered)
    step = stride if stride is not None else math.ceil(count / ceil_sqrt(count))
    return [ordered[index] for index in range(count - 1, -1, -step)] + [0]


@dataclass
class StageState:
    """Where one sample stands in its curriculum, and how its current stage is going."""

    stages: list[int]
    stage: int = 0
    passed: int = 0
    attempts: int = 0

    @property
    def prefix_lines(self) -> int:
        """Lines of the reference given in the prompt at the current stage (0 = none)."""
        return self.stages[self.stage]

    @property
    def final(self) -> bool:
        return self.stage == len(self.stages) - 1

    def record(self, passed: int, attempts: int, threshold: float, min_attempts: int) -> bool:
        """Add a step's completions at this stage; move one stage on (and reset the counts)
        when their cumulative pass rate exceeds ``threshold``. Returns whether it moved."""
        if not 0 <= passed <= attempts:
            raise ValueError(f"passed={passed} must lie in 0..attempts={attempts}")
        self.passed += passed
        self.attempts += attempts
        if self.final or self.attempts < min_attempts or self.passed <= threshold * self.attempts:
            return False
        self.stage += 1
        self.passed = self.attempts = 0
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": list(self.stages),
            "stage": self.stage,
            "passed": self.passed,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageState:
        state = cls(
            stages=[int(x) for x in data["stages"]],
            stage=int(data["stage"]),
            passed=int(data["passed"]),
            attempts=int(data["attempts"]),
        )
        if not (state.stages and state.stages[-1] == 0 and 0 <= state.stage < len(state.stages)):
            raise ValueError(f"invalid curriculum state {data!r}")
        return state
