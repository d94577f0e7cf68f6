"""The suites shipped inside the package as JSONL, one task per line: ``crucible-basic`` and
``crucible-steps`` (see :mod:`crucible.evaluation.data.build_crucible_basic` and
:mod:`crucible.evaluation.data.build_crucible_steps` for how each is made and split)."""

from __future__ import annotations

from importlib import resources

from pydantic import ValidationError

from crucible.evaluation.datasets._rows import DatasetFormatError
from crucible.evaluation.tasks import Task


def load_packaged(resource: str) -> list[Task]:
    """Every task of the packaged JSONL file ``resource``, train and test splits together."""
    file = resources.files("crucible.evaluation.data").joinpath(resource)
    tasks = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            tasks.append(Task.model_validate_json(line))
        except ValidationError as exc:
            raise DatasetFormatError(f"{file}:{number}: invalid task: {exc}") from None
    return tasks


def load_crucible_basic() -> list[Task]:
    """crucible-basic: one-line function tasks a tiny model can learn."""
    return load_packaged("crucible_basic.jsonl")


def load_crucible_steps() -> list[Task]:
    """crucible-steps: multi-branch function tasks with several references each."""
    return load_packaged("crucible_steps.jsonl")
