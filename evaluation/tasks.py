"""The task every loader returns, and how a model's completion becomes a sandbox request.

A task says how its program is assembled (``layout``):

* ``prompt_plus_completion`` (HumanEval style): the model continues the prompt (a signature and a
  docstring), so the program is ``prompt + completion``.
* ``completion_only`` (MBPP, APPS, CodeContests style): the prompt only describes the problem and
  the model writes the whole program, so the program is the completion alone.

Whatever precedes the completion (the prompt for continuation tasks, plus an optional curriculum
prefix such as StepCoder's canonical-solution head) travels as the request's ``prelude``. The
sandbox subtracts prelude lines from every reported line number, so error lines and executed lines
come back in the completion's own coordinates: exactly what token-level rewards need.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from crucible.sandbox_service.models import ExecuteRequest, Limits, TestCase

Split = Literal["train", "validation", "test", "prompt"]
SPLITS: tuple[Split, ...] = get_args(Split)

Layout = Literal["prompt_plus_completion", "completion_only"]

ScopeEntry = tuple[str, int, int]
"""APPS+ ``scope`` item: (statement kind, first line, last line), 1-based lines of the canonical
solution."""


class Example(BaseModel):
    """One test as data: the entry point's positional arguments and the value it must return.

    Kept beside the assert tests of function tasks so feedback and prompts can show a failing
    input without parsing test code.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    args: list[JsonValue]
    expected: JsonValue


class Task(BaseModel):
    """One programming problem with its tests, independent of the dataset it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: Annotated[str, Field(min_length=1)]
    source: Annotated[str, Field(min_length=1, description="Dataset name, e.g. 'humaneval'.")]
    split: Split
    prompt: str = Field(description="What the model sees (and, for continuation tasks, extends).")
    layout: Layout
    entry_point: str | None = Field(
        description="Function the tests call; None for standard-input programs."
    )
    canonical_solution: str | None = Field(
        description="A full runnable reference program (prompt included for continuation "
        "tasks); None where the dataset ships no solution (some APPS and CodeContests problems)."
    )
    references: list[str] = Field(
        default=[],
        description="Further full reference programs of other shapes than the canonical one "
        "(same form: prompt included for continuation tasks), for methods that choose among "
        "several correct solutions (e.g. CYCLE's BM25 target).",
    )
    tests: Annotated[list[TestCase], Field(min_length=1)]
    difficulty: str | None = None
    starter_code: str = ""
    examples: list[Example] = Field(
        default=[], description="Empty, or one entry per test describing that test."
    )
    scope: list[ScopeEntry] | None = Field(
        default=None, description="APPS+ conditional-statement spans of the canonical solution."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Task:
        if self.layout == "prompt_plus_completion":
            # The prelude must end on a line boundary, or the completion's first line would be
            # glued onto the prompt's last one and line numbers would shift.
            if not self.prompt.endswith("\n"):
                raise ValueError(f"{self.task_id}: a continuation prompt must end with a newline")
            solutions = [self.canonical_solution, *self.references]
            if any(s is not None and not s.startswith(self.prompt) for s in solutions):
                raise ValueError(
                    f"{self.task_id}: canonical_solution and references must start with the "
                    "prompt they continue"
                )
        if self.examples:
            if len(self.examples) != len(self.tests):
                raise ValueError(
                    f"{self.task_id}: {len(self.examples)} examples for {len(self.tests)} tests; "
                    "examples must describe every test or none"
                )
            if self.entry_point is None:
                raise ValueError(f"{self.task_id}: examples need an entry_point to call")
        for kind, start, end in self.scope or []:
            if not 1 <= start <= end:
                raise ValueError(f"{self.task_id}: scope entry {kind!r} has lines {start}..{end}")
        return self

    def prelude(self, prefix: str = "") -> str:
        """The text placed before the completion: the prompt when the model continues it, then
        ``prefix`` (e.g. the head of the canonical solution in a StepCoder curriculum stage)."""
        if prefix and not prefix.endswith("\n"):
            raise ValueError("prefix must be empty or end with a newline")
        head = self.prompt if self.layout == "prompt_plus_completion" else ""
        return head + prefix

    def program(self, completion: str, prefix: str = "") -> str:
        """The full source the sandbox runs for ``completion``."""
        return self.prelude(prefix) + completion

    @property
    def canonical_completion(self) -> str | None:
        """The canonical solution as a completion: what a perfect model would generate."""
        if self.canonical_solution is None:
            return None
        return self.canonical_solution[len(self.prelude()) :]

    @property
    def reference_completions(self) -> list[str]:
        """Every reference solution as a completion, the canonical one first."""
        solutions = [self.canonical_solution, *self.references]
        return [s[len(self.prelude()) :] for s in solutions if s is not None]

    def to_request(
        self,
        completion: str,
        *,
        prefix: str = "",
        request_id: str = "",
        limits: Limits | None = None,
        collect_coverage: bool = False,
        stop_on_first_failure: bool = False,
    ) -> ExecuteRequest:
        """A sandbox request running ``completion`` against every test of this task."""
        return ExecuteRequest(
            request_id=request_id,
            source=completion,
            prelude=self.prelude(prefix),
            tests=self.tests,
            limits=limits or Limits(),
            collect_coverage=collect_coverage,
            stop_on_first_failure=stop_on_first_failure,
        )
