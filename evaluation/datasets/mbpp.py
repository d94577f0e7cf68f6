"""MBPP (Austin et al. 2021): the original JSON-lines file and the sanitized JSON array.

The model writes the whole program (``completion_only``). Its prompt puts the description and the
first test in a docstring, as EvalPlus and CYCLE do: the description alone does not name the
function the tests call. Each assert of ``test_list`` is one assert test, preceded by the row's
``test_setup_code`` (original) or ``test_imports`` (sanitized), so pass ratios and failing inputs
are per assert. ``challenge_test_list`` is left out, as in the standard evaluations.

Splits follow the MBPP paper's task-id ranges: 1-10 prompt, 11-510 test, 511-600 validation,
601-974 train.
"""

from __future__ import annotations

import ast
from pathlib import Path

from crucible.evaluation.datasets._rows import Row, read_json_list, read_jsonl
from crucible.evaluation.tasks import Split, Task
from crucible.sandbox_service.models import AssertTest, TestCase

_SPLIT_RANGES: tuple[tuple[int, int, Split], ...] = (
    (1, 10, "prompt"),
    (11, 510, "test"),
    (511, 600, "validation"),
    (601, 974, "train"),
)


def _split(row: Row, task_id: int) -> Split:
    """The MBPP split of a task id."""
    for low, high, split in _SPLIT_RANGES:
        if low <= task_id <= high:
            return split
    raise row.error(f"task_id {task_id} is outside MBPP's range 1-974")


def _entry_point(row: Row, code: str, test: str) -> str:
    """The function a test calls that the solution defines (the outermost such call)."""
    try:
        defined = {
            node.name
            for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.FunctionDef | ast.ClassDef)
        }
        calls = [
            node.func.id
            for node in ast.walk(ast.parse(test))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        ]
    except SyntaxError as exc:
        raise row.error(f"cannot parse code or test: {exc.msg} (line {exc.lineno})") from None
    for name in calls:
        if name in defined:
            return name
    raise row.error(f"the first test calls no function the code defines: {test!r}")


def _mbpp_task(row: Row, source: str, description: str, setup: str) -> Task:
    number = row.get("task_id", int)
    code = row.get("code", str).replace("\r\n", "\n")
    asserts = row.get("test_list", list)
    if not asserts or not all(isinstance(item, str) for item in asserts):
        raise row.error("test_list must be a non-empty list of strings")
    head = setup.replace("\r\n", "\n").strip()
    tests = [
        TestCase(
            name=f"test_{index}",
            body=AssertTest(code=f"{head}\n{test}\n" if head else f"{test}\n"),
        )
        for index, test in enumerate(asserts)
    ]
    return row.task(
        task_id=f"{source}/{number}",
        source=source,
        split=_split(row, number),
        prompt=f'"""\n{description.strip()}\n{asserts[0]}\n"""\n',
        layout="completion_only",
        entry_point=_entry_point(row, code, asserts[0]),
        canonical_solution=code,
        tests=tests,
    )


def load_mbpp(path: Path) -> list[Task]:
    """Tasks of the original ``mbpp.jsonl`` (keys task_id, text, code, test_list,
    test_setup_code, challenge_test_list)."""
    return [
        _mbpp_task(row, "mbpp", row.get("text", str), row.optional("test_setup_code", str, ""))
        for row in read_jsonl(path)
    ]


def load_mbpp_sanitized(path: Path) -> list[Task]:
    """Tasks of ``sanitized-mbpp.json`` (a JSON array with keys task_id, prompt, code,
    test_imports, test_list, source_file)."""
    tasks = []
    for row in read_json_list(path):
        imports = row.optional("test_imports", list, [])
        if not all(isinstance(item, str) for item in imports):
            raise row.error("test_imports must be a list of strings")
        tasks.append(_mbpp_task(row, "mbpp-sanitized", row.get("prompt", str), "\n".join(imports)))
    return tasks
