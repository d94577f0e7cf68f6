"""EvalPlus HumanEval+ and MBPP+ (Liu et al. 2023) in their published JSON-lines format.

Tests come from the row's ``test`` field, used as one assert test. EvalPlus ships its inputs
(``base_input``, ``plus_input``) without expected outputs; the ``test`` code carries the expected
results computed by the EvalPlus authors, plus their tolerance-aware ``assertion`` helper. Using it
keeps expected values from the data: this loader never derives them by running the canonical
solution. A row without ``test`` is rejected.

Two shapes exist. HumanEval+ rows hold a ``check(candidate)`` function and a function-body
``canonical_solution`` that continues the prompt; MBPP+ rows hold top-level test code that calls
the entry point and a whole-program ``canonical_solution`` (the prompt is only a docstring). The
test code imports ``numpy``, so the sandbox's interpreter needs it.

EvalPlus scores twice: on the original (base) inputs and on base plus its extra inputs. The test
code runs ``inputs`` (base inputs first, then ``plus_input``) in one loop over
``zip(inputs, results)``, so a row with ``base_input`` becomes two tests over slices of that
loop: ``base`` (the first ``len(base_input)`` inputs) and ``plus`` (the rest). A program passes
EvalPlus's base score when test ``base`` passes and its plus score when both pass. Test code
without exactly one such loop stays one test, ``evalplus``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from crucible.evaluation.datasets._rows import Row, read_jsonl
from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import AssertTest, TestCase


def _top_level_functions(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


_LOOP = "zip(inputs, results)"


def _tests(row: Row, test: str) -> list[TestCase]:
    """``base`` and ``plus`` tests when the loop over inputs can be sliced, else one test."""
    base_inputs = row.optional("base_input", list, [])
    if not base_inputs or test.count(_LOOP) != 1:
        return [TestCase(name="evalplus", body=AssertTest(code=test))]
    split = len(base_inputs)
    return [
        TestCase(name=name, body=AssertTest(code=test.replace(_LOOP, loop)))
        for name, loop in (
            ("base", f"zip(inputs[:{split}], results[:{split}])"),
            ("plus", f"zip(inputs[{split}:], results[{split}:])"),
        )
    ]


def _evalplus_task(row: Row) -> Task:
    entry_point = row.get("entry_point", str)
    prompt = row.get("prompt", str)
    solution = row.get("canonical_solution", str)
    test = row.get("test", str)
    if "check" in _top_level_functions(test):
        test += f"\ncheck({entry_point})\n"
    whole_program = entry_point in _top_level_functions(solution)
    return row.task(
        task_id=row.get("task_id", str),
        source="evalplus",
        split="test",
        prompt=prompt,
        layout="completion_only" if whole_program else "prompt_plus_completion",
        entry_point=entry_point,
        canonical_solution=solution if whole_program else prompt + solution,
        tests=_tests(row, test),
    )


def load_evalplus(path: Path) -> list[Task]:
    """HumanEval+ or MBPP+ tasks from a ``.jsonl`` or ``.jsonl.gz`` release file."""
    return [_evalplus_task(row) for row in read_jsonl(path)]
