"""What the built-in suites' generators share: the prompt, the assert test and the JSONL text.

Both generators (:mod:`build_crucible_basic`, :mod:`build_crucible_steps`) render a task the same
way, so a model trained on one reads the other's prompts and a test's failure message looks alike:
a HumanEval-style prompt (signature, docstring, one ``>>>`` example) and tests of the form
``assert (_out := f(args)) == expected, repr(_out)``, whose failure message carries the actual
value that execution feedback (CYCLE) reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from crucible.evaluation.tasks import Example, Task
from crucible.sandbox_service.models import AssertTest, TestCase


def check_json(value: Any, where: str) -> None:
    """Reject values a JSON round trip would change (tuples, sets, floats, non-str keys)."""
    if isinstance(value, list):
        for item in value:
            check_json(item, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: dict key {key!r} is not a string")
            check_json(item, where)
    elif not (value is None or isinstance(value, bool | int | str)):
        raise ValueError(f"{where}: {value!r} is not a list, dict, str, int, bool or None")


def call(function: str, args: Sequence[Any]) -> str:
    """The source of a call of ``function`` with ``args``."""
    return f"{function}({', '.join(repr(arg) for arg in args)})"


def prompt(function: str, signature: str, returns: str, doc: str, shown: Example) -> str:
    """A continuation prompt: the signature and a docstring ending in one worked example."""
    return (
        f"def {function}({signature}) -> {returns}:\n"
        f'    """{doc}\n\n'
        f"    >>> {call(function, shown.args)}\n"
        f"    {shown.expected!r}\n"
        f'    """\n'
    )


def assert_tests(function: str, examples: Sequence[Example]) -> list[TestCase]:
    """One equality assert per example, its failure message the actual value."""
    return [
        TestCase(
            name=f"test_{number}",
            body=AssertTest(
                code=f"assert (_out := {call(function, example.args)}) == "
                f"{example.expected!r}, repr(_out)\n"
            ),
        )
        for number, example in enumerate(examples)
    ]


class Templated(Protocol):
    """A family of tasks: one template filled with each variant's constants."""

    @property
    def variants(self) -> Sequence[Mapping[str, Any]]: ...


F = TypeVar("F", bound=Templated)


def instantiate(
    families: Sequence[F], make: Callable[[F, int, Mapping[str, Any]], Task]
) -> list[Task]:
    """``make(family, index, variant)`` for every variant of every family, in family order;
    raises when two tasks share a function name (a model could not tell them apart)."""
    tasks = [
        make(family, index, variant)
        for family in families
        for index, variant in enumerate(family.variants)
    ]
    names = [str(task.entry_point) for task in tasks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"function names used twice: {duplicates}")
    return tasks


def render(tasks: Sequence[Task]) -> str:
    """The JSON-lines text of a suite, one task per line."""
    return "".join(task.model_dump_json() + "\n" for task in tasks)


def write(tasks: Sequence[Task], output: Path) -> None:
    """Write the suite's JSONL file and say so."""
    output.write_text(render(tasks), encoding="utf-8")
    print(f"wrote {len(tasks)} tasks to {output}")
