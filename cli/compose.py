"""Composition shared by ``crucible train`` and ``crucible eval``: loading data, the model and the
sandbox from user-facing names, with errors turned into exit code 2 messages.

Imports of the training stack happen inside the functions, so the sandbox commands never pay
for torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cli.common import ExitCode, fail

if TYPE_CHECKING:
    from evaluation.tasks import Task
    from kernel.config import ModelConfig
    from kernel.sandbox import SandboxHandle


def load_tasks(dataset: str, split: str | None, limit: int | None = None) -> list[Task]:
    from evaluation.datasets import load_dataset

    try:
        tasks = load_dataset(dataset, split)
    except (ValueError, OSError, KeyError) as exc:
        fail(ExitCode.BAD_INPUT, f"dataset {dataset!r}: {exc}")
    if not tasks:
        fail(ExitCode.BAD_INPUT, f"dataset {dataset!r} split {split!r} has no tasks")
    return tasks[:limit] if limit else tasks


def load_policy(config: ModelConfig) -> tuple[Any, Any]:
    from kernel.models import load_model

    try:
        return load_model(config)
    except (OSError, ValueError) as exc:
        fail(ExitCode.BAD_INPUT, f"model {config.name_or_path!r} cannot be loaded: {exc}")


def open_sandbox(addresses: Sequence[str], workers: int | None, isolation: str) -> SandboxHandle:
    from kernel.sandbox import SandboxHandle
    from sandbox_service.engine.jail import JailUnavailable

    try:
        return SandboxHandle(addresses, workers=workers, isolation=isolation)  # type: ignore[arg-type]
    except JailUnavailable as exc:
        fail(ExitCode.UNAVAILABLE, str(exc))
