"""Shared helpers for the evaluation tests.

``run_locally`` is an in-process stand-in for the sandbox, enough to check that the tests a loader
builds are passed by the dataset's own canonical solution. It is not a harness: no isolation, no
limits, and comparisons as simple as the fixtures need.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import AssertTest, CallTest, TestCase

FIXTURES = Path(__file__).parent / "fixtures"


def _normalised(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _passes(program: str, test: TestCase) -> bool:
    try:
        return _run(program, test)
    except Exception:
        return False


def _run(program: str, test: TestCase) -> bool:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    body = test.body
    if isinstance(body, AssertTest):
        exec(program, namespace)
        exec(body.code, namespace)
        return True
    if isinstance(body, CallTest):
        exec(program, namespace)
        owner, _, method = body.function_name.rpartition(".")
        function = getattr(namespace[owner](), method) if owner else namespace[method]
        result = function(*json.loads(body.args_json))
        return bool(json.loads(json.dumps(result)) == json.loads(body.expected_json))
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(output):
        patch.setattr("sys.stdin", io.StringIO(body.stdin))
        exec(program, namespace)
    return _normalised(output.getvalue()) == _normalised(body.expected_stdout)


def run_tests(task: Task, completion: str) -> list[bool]:
    """Pass flag of every test of ``task`` for ``completion``, run in this process."""
    program = task.program(completion)
    return [_passes(program, test) for test in task.tests]


@pytest.fixture
def run() -> Callable[[Task, str], list[bool]]:
    return run_tests


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def apps_folders(tmp_path: Path) -> Path:
    """APPS's original layout, written at test time: its ``starter_code.py`` files are
    deliberately incomplete Python, which linters would reject as a checked-in fixture."""
    problems = {
        "train/0007": {
            "question.txt": "Read a word and print it in upper case.\n",
            "input_output.json": json.dumps(
                {"inputs": ["abc\n", "Hello\n"], "outputs": ["ABC\n", "HELLO\n"]}
            ),
            "solutions.json": json.dumps(["print(input().upper())\n"]),
            "metadata.json": json.dumps({"difficulty": "introductory", "url": "https://x"}),
        },
        "test/0012": {
            "question.txt": "Return the number of vowels in s.\n",
            "input_output.json": json.dumps(
                {"fn_name": "vowels", "inputs": [["abc"], ["xyz"]], "outputs": [[1], [0]]}
            ),
            "solutions.json": json.dumps(
                ["def vowels(s):\n    return sum(c in 'aeiou' for c in s)\n"]
            ),
            "metadata.json": json.dumps({"difficulty": "interview"}),
            "starter_code.py": "def vowels(s):\n\t",
        },
    }
    for folder, files in problems.items():
        (tmp_path / folder).mkdir(parents=True)
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text, encoding="utf-8")
    return tmp_path
