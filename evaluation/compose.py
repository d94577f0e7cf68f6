"""Putting a run together from user-facing names: the tasks of a dataset split, the policy, the
sandbox and the run's warm start. ``crucible train``, ``crucible eval``, the learning benchmark
and plugin commands (CodeDPO's ``build-pairs``) all start from here, so every one of them starts
from the same policy for the same config.

It lives in the evaluation layer because it is the lowest layer that sees everything it joins:
tasks come from :mod:`evaluation.datasets`, the model, sandbox and supervised step from the
kernel. It is a library: failures are typed errors that say what went wrong
(:class:`InputError`: a name or file that cannot be loaded; :class:`SandboxUnavailable`: this
machine cannot run the sandbox), never exits; the command line maps them to its exit codes.

Imports of the training stack happen inside the functions, so importing this module (as the
command line does for its error types) never pays for torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from crucible.evaluation.tasks import Task
    from crucible.kernel.config import ModelConfig
    from crucible.kernel.run_config import RunConfig
    from crucible.kernel.sandbox import SandboxHandle


class CompositionError(Exception):
    """A run cannot be put together from what was asked; the subclass says why."""


class InputError(CompositionError):
    """What was asked for does not exist or does not load (a dataset, split, model or setting):
    the asker must change it."""


class SandboxUnavailable(CompositionError):
    """This machine cannot run the sandbox (nsjail or its cgroups are missing): the input may be
    fine, the environment is not."""


def load_tasks(dataset: str, split: str | None, limit: int | None = None) -> list[Task]:
    """The tasks of ``dataset``'s ``split`` (the first ``limit`` when given); never empty."""
    from crucible.evaluation.datasets import load_dataset

    try:
        tasks = load_dataset(dataset, split)
    except (ValueError, OSError, KeyError) as exc:
        raise InputError(f"dataset {dataset!r}: {exc}") from exc
    if not tasks:
        raise InputError(f"dataset {dataset!r} split {split!r} has no tasks")
    return tasks[:limit] if limit else tasks


def load_policy(config: ModelConfig) -> tuple[Any, Any]:
    """The model and tokenizer ``config`` names."""
    from crucible.kernel.models import load_model

    try:
        return load_model(config)
    except (OSError, ValueError) as exc:
        raise InputError(f"model {config.name_or_path!r} cannot be loaded: {exc}") from exc


def open_sandbox(addresses: Sequence[str], workers: int | None, isolation: str) -> SandboxHandle:
    """The servers at ``addresses``, or an embedded engine when there are none."""
    from crucible.kernel.sandbox import SandboxHandle
    from crucible.sandbox_service.engine.jail import JailUnavailable

    try:
        return SandboxHandle(addresses, workers=workers, isolation=isolation)  # type: ignore[arg-type]
    except JailUnavailable as exc:
        raise SandboxUnavailable(str(exc)) from exc


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
        warm_start_pairs(run, tokenizer, tasks),
        epochs=run.warm_start.sft_epochs,
        lr=run.warm_start.lr,
        batch_size=run.warm_start.batch_size,
        seed=run.trainer.seed,
        progress=not console.quiet,
    )


def warm_start_pairs(
    run: RunConfig, tokenizer: Any, tasks: Sequence[Task]
) -> list[tuple[str, str]]:
    """The warm start's (prompt, target) pairs: each prompt exactly as the sampler will show it
    to the model (:func:`kernel.sampler.format_prompt`: the BOS token, or the chat template
    around it), so the policy learns to continue the text it is later sampled from."""
    from crucible.evaluation.test_writing import test_writing_pairs
    from crucible.kernel.sampler import format_prompt

    pairs = [
        (task.prompt, task.canonical_completion) for task in tasks if task.canonical_completion
    ]
    if run.warm_start.test_writing:
        pairs += test_writing_pairs(tasks)
    return [(format_prompt(tokenizer, text, run.data.chat), target) for text, target in pairs]
