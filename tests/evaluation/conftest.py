"""Shared fixtures of the evaluation tests.

``run`` runs a task's tests on a completion in the real pooled sandbox (the session's
``pooled_engine``, tests/conftest.py), so a loader's tests are checked by the harness that will
run them, not by a simpler stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from real_engine import LocalEngine  # on the path by tests/conftest.py

from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import Status

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def run(pooled_engine: LocalEngine) -> Callable[[Task, str], list[bool]]:
    """``run(task, completion)``: the pass flag of every test of ``task`` for ``completion``."""

    def run_tests(task: Task, completion: str) -> list[bool]:
        verdict = pooled_engine.run(task.to_request(completion))
        return [test.status is Status.PASSED for test in verdict.tests]

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
