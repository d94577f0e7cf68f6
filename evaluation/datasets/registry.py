"""One entry point to every dataset: ``load_dataset("humaneval")``, ``load_dataset("apps:PATH")``.

Built-in datasets go by name; file formats go by ``FORMAT:PATH``. ``split`` selects tasks of one
split. Files that hold a single split without saying which (APPS ``.jsonl``/``.json``,
CodeContests) are labelled with ``split`` (``test`` when it is None).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from crucible.evaluation.datasets.apps import load_apps
from crucible.evaluation.datasets.codecontests import load_codecontests
from crucible.evaluation.datasets.evalplus import load_evalplus
from crucible.evaluation.datasets.humaneval import load_humaneval
from crucible.evaluation.datasets.mbpp import load_mbpp, load_mbpp_sanitized
from crucible.evaluation.datasets.packaged import load_crucible_basic, load_crucible_steps
from crucible.evaluation.tasks import SPLITS, Split, Task

BUILTIN: dict[str, Callable[[], list[Task]]] = {
    "humaneval": load_humaneval,
    "crucible-basic": load_crucible_basic,
    "crucible-steps": load_crucible_steps,
}
FILE_FORMATS: dict[str, Callable[[Path, Split], list[Task]]] = {
    "mbpp": lambda path, _: load_mbpp(path),
    "mbpp-sanitized": lambda path, _: load_mbpp_sanitized(path),
    "evalplus": lambda path, _: load_evalplus(path),
    "apps": load_apps,
    "codecontests": load_codecontests,
}


def dataset_names() -> list[str]:
    """Every accepted spelling, for help texts and errors."""
    return [*BUILTIN, *(f"{name}:PATH" for name in FILE_FORMATS)]


def _check_split(split: str | None) -> Split | None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    return split


def load_dataset(name_or_path: str, split: str | None = None) -> list[Task]:
    """The tasks of a dataset, optionally only those of ``split``."""
    wanted = _check_split(split)
    name, _, path = name_or_path.partition(":")
    if name in BUILTIN and not path:
        tasks = BUILTIN[name]()
    elif name in FILE_FORMATS and path:
        tasks = FILE_FORMATS[name](Path(path), wanted or "test")
    else:
        hint = f" ({name} needs a file: {name}:PATH)" if name in FILE_FORMATS else ""
        raise ValueError(
            f"unknown dataset {name_or_path!r}{hint}; valid names: {', '.join(dataset_names())}"
        )
    if wanted is None:
        return tasks
    selected = [task for task in tasks if task.split == wanted]
    if not selected:
        found = sorted({task.split for task in tasks})
        raise ValueError(f"{name_or_path} has no {wanted!r} tasks; its splits: {found}")
    return selected
