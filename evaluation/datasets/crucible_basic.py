"""crucible-basic: the built-in offline suite of tiny function tasks (see
:mod:`crucible.evaluation.data.build_crucible_basic` for how it is made and split)."""

from __future__ import annotations

from importlib import resources

from pydantic import ValidationError

from crucible.evaluation.datasets._rows import DatasetFormatError
from crucible.evaluation.tasks import Task

RESOURCE = "crucible_basic.jsonl"


def load_crucible_basic() -> list[Task]:
    """Every task of the suite, train and test splits together."""
    file = resources.files("crucible.evaluation.data").joinpath(RESOURCE)
    tasks = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            tasks.append(Task.model_validate_json(line))
        except ValidationError as exc:
            raise DatasetFormatError(f"{file}:{number}: invalid task: {exc}") from None
    return tasks
