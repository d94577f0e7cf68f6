"""CodeContests (Li et al. 2022, AlphaCode) in the JSON-lines form of its HF export.

Every problem is a standard-input program. Its tests are the public, private and generated tests
in that order (each ``{"input": [...], "output": [...]}``), compared with the sandbox's default
whitespace-tolerant checker; a token-exact check is what most of these judges use, and a float
tolerance would equate distinct large integers. The canonical solution is the first Python 3
solution (language id 3); problems with none keep ``canonical_solution=None``. A file holds one
split and does not say which, so the caller names it. Problems without tests are skipped with a
warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

from crucible.evaluation.datasets._prompts import apps_prompt
from crucible.evaluation.datasets._rows import Row, read_jsonl
from crucible.evaluation.tasks import Split, Task
from crucible.sandbox_service.models import StdioTest, TestCase

log = logging.getLogger(__name__)

PYTHON3 = 3
"""``ContestProblem.Solution.Language.PYTHON3`` in contest_problem.proto."""

_TEST_GROUPS = ("public_tests", "private_tests", "generated_tests")

# ContestProblem.Difficulty of contest_problem.proto: named grades, then Codeforces letters
# A=7 .. V=29 with 18 unused.
DIFFICULTIES: dict[int, str] = {
    0: "UNKNOWN_DIFFICULTY",
    1: "EASY",
    2: "MEDIUM",
    3: "HARD",
    4: "HARDER",
    5: "HARDEST",
    6: "EXTERNAL",
    **{7 + offset: letter for offset, letter in enumerate("ABCDEFGHIJK")},
    **{19 + offset: letter for offset, letter in enumerate("LMNOPQRSTUV")},
}


def _tests(row: Row) -> list[TestCase]:
    tests = []
    for group in _TEST_GROUPS:
        pairs = row.optional(group, dict, {})
        inputs, outputs = pairs.get("input", []), pairs.get("output", [])
        if not isinstance(inputs, list) or not isinstance(outputs, list):
            raise row.error(f"{group} needs lists 'input' and 'output'")
        if len(inputs) != len(outputs):
            raise row.error(f"{group} has {len(inputs)} inputs but {len(outputs)} outputs")
        for index, (stdin, stdout) in enumerate(zip(inputs, outputs, strict=True)):
            if not isinstance(stdin, str) or not isinstance(stdout, str):
                raise row.error(f"{group}[{index}] input and output must be strings")
            body = StdioTest(stdin=stdin, expected_stdout=stdout)
            tests.append(TestCase(name=f"{group.removesuffix('_tests')}_{index}", body=body))
    return tests


def _python3_solution(row: Row) -> str | None:
    solutions = row.optional("solutions", dict, {})
    languages, programs = solutions.get("language", []), solutions.get("solution", [])
    if not isinstance(languages, list) or not isinstance(programs, list):
        raise row.error("solutions needs lists 'language' and 'solution'")
    if len(languages) != len(programs):
        raise row.error(f"solutions has {len(languages)} languages but {len(programs)} programs")
    for language, program in zip(languages, programs, strict=True):
        if language == PYTHON3 and isinstance(program, str):
            return program
    return None


def _difficulty(row: Row) -> str | None:
    number = row.optional("difficulty", int, None)
    if number is None:
        return None
    if number not in DIFFICULTIES:
        raise row.error(f"unknown difficulty {number} (contest_problem.proto has 0-29)")
    return DIFFICULTIES[number]


def load_codecontests(path: Path, file_split: Split = "test") -> list[Task]:
    """CodeContests tasks from a ``.jsonl`` file of one split, labelled ``file_split``."""
    tasks, skipped = [], []
    for row in read_jsonl(path):
        name = row.get("name", str)
        tests = _tests(row)
        if not tests:
            skipped.append(name)
            continue
        tasks.append(
            row.task(
                task_id=f"codecontests/{name}",
                source="codecontests",
                split=file_split,
                prompt=apps_prompt(row.get("description", str), "", call_based=False),
                layout="completion_only",
                entry_point=None,
                canonical_solution=_python3_solution(row),
                tests=tests,
                difficulty=_difficulty(row),
            )
        )
    if skipped:
        log.warning("%s: skipped %d problems without tests: %s", path, len(skipped), skipped[:10])
    return tasks
