"""Composition shared by ``crucible train`` and ``crucible eval``: loading data, the model and the
sandbox from user-facing names, with errors turned into exit code 2 messages.

Imports of the training stack happen inside the functions, so the sandbox commands never pay
for torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crucible.cli.common import ExitCode, fail

if TYPE_CHECKING:
    from rich.console import Console

    from crucible.evaluation.tasks import Task
    from crucible.kernel.config import ModelConfig
    from crucible.kernel.run_config import RunConfig
    from crucible.kernel.sandbox import SandboxHandle


def load_tasks(dataset: str, split: str | None, limit: int | None = None) -> list[Task]:
    from crucible.evaluation.datasets import load_dataset

    try:
        tasks = load_dataset(dataset, split)
    except (ValueError, OSError, KeyError) as exc:
        fail(ExitCode.BAD_INPUT, f"dataset {dataset!r}: {exc}")
    if not tasks:
        fail(ExitCode.BAD_INPUT, f"dataset {dataset!r} split {split!r} has no tasks")
    return tasks[:limit] if limit else tasks


def load_policy(config: ModelConfig) -> tuple[Any, Any]:
    from crucible.kernel.models import load_model

    try:
        return load_model(config)
    except (OSError, ValueError) as exc:
        fail(ExitCode.BAD_INPUT, f"model {config.name_or_path!r} cannot be loaded: {exc}")


def open_sandbox(addresses: Sequence[str], workers: int | None, isolation: str) -> SandboxHandle:
    from crucible.kernel.sandbox import SandboxHandle
    from crucible.sandbox_service.engine.jail import JailUnavailable

    try:
        return SandboxHandle(addresses, workers=workers, isolation=isolation)  # type: ignore[arg-type]
    except JailUnavailable as exc:
        fail(ExitCode.UNAVAILABLE, str(exc))


def warm_start(
    run: RunConfig, model: Any, tokenizer: Any, tasks: Sequence[Task], console: Console
) -> None:
    """The run's supervised warm start on the tasks' canonical solutions (none when
    ``warm_start.sft_epochs`` is 0), so that every command starting from a run config starts
    from the same policy. Callers pass the whole training split, whatever
    ``data.max_train_tasks`` says: a method that trains on a subset (to fit a budget) must
    start from the same model as one that trains on all of it."""
    from crucible.kernel.sft import fine_tune

    if not run.warm_start.sft_epochs:
        return
    console.print(f"warm start: {run.warm_start.sft_epochs} epochs of SFT")
    fine_tune(
        model,
        tokenizer,
        [
            (task.prompt, task.canonical_completion or "")
            for task in tasks
            if task.canonical_completion
        ],
        epochs=run.warm_start.sft_epochs,
        lr=run.warm_start.lr,
        batch_size=run.warm_start.batch_size,
        seed=run.trainer.seed,
        progress=not console.quiet,
    )
