"""Data-parallel training over several processes (GPUs, machines) through accelerate.

``accelerate launch`` (or ``torchrun``) starts one process per device and sets the environment
that :class:`accelerate.PartialState` reads; this module is the kernel's only contact with it, so
a single process needs no launcher and every function below is then a no-op.

The scheme is plain data parallelism: every process holds the whole model, draws the same
problems for a step (the step seed is shared), samples and executes its own share of the
queries, and after the step's backward passes the gradients are averaged across processes
before the optimiser step, so every replica stays identical. The averaging uses accelerate's
collective ``reduce`` rather than wrapping the model in DistributedDataParallel: methods call
the model (and their own extra parameters, such as a value head) however they like, and a DDP
wrapper only synchronises what goes through its own ``forward``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import torch
from accelerate import PartialState
from accelerate.utils import gather_object, reduce

T = TypeVar("T")


class Processes:
    """This process's place among the run's processes."""

    def __init__(self) -> None:
        # Without a GPU the processes talk over gloo; accelerate only looks for a CPU launch
        # when told to.
        state = PartialState(cpu=not torch.cuda.is_available())
        self.count: int = state.num_processes
        self.rank: int = state.process_index
        self.is_main: bool = state.is_main_process
        self._state = state

    def shard(self, items: Sequence[T]) -> list[T]:
        """This process's share of ``items`` (every ``count``-th item from ``rank``)."""
        if len(items) < self.count:
            raise ValueError(
                f"{len(items)} queries cannot be shared by {self.count} processes: raise "
                "trainer.batch_prompts to at least the number of processes"
            )
        return list(items[self.rank :: self.count])

    def average_gradients(self, parameters: Iterable[torch.Tensor]) -> None:
        """Replace every parameter's gradient by its mean over the processes. A parameter that
        got no gradient here counts as zero, so every process reduces the same tensors."""
        if self.count == 1:
            return
        for parameter in parameters:
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
            parameter.grad.copy_(reduce(parameter.grad, reduction="mean"))

    def gather(self, value: T) -> list[T]:
        """``value`` from every process, in rank order (picklable objects)."""
        if self.count == 1:
            return [value]
        return list(gather_object([value]))

    def wait(self) -> None:
        """Block until every process gets here."""
        if self.count > 1:
            self._state.wait_for_everyone()


def mean_metrics(per_process: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One metrics row from every process's row: numbers averaged over the processes that
    report them (the shares are equal in size), other values taken from the first."""
    merged: dict[str, Any] = {}
    for key in dict.fromkeys(key for row in per_process for key in row):
        values = [row[key] for row in per_process if key in row]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        merged[key] = sum(numbers) / len(numbers) if len(numbers) == len(values) else values[0]
    return merged
