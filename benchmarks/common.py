"""What the benchmarks share: torch's thread count, how a result is summarised over seeds and
where it was measured."""

from __future__ import annotations

import math
import platform
import random
import statistics
from collections.abc import Sequence

from pydantic import BaseModel, Field


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation) over seeds; the deviation is 0 for a single seed."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def bootstrap_interval(
    scores: Sequence[Sequence[float]],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of a seeds x tasks matrix of per-task scores and its
    percentile bootstrap interval at ``level``.

    Each resample draws the seeds with replacement and, independently, the tasks with
    replacement, the same tasks for every drawn seed (every seed is evaluated on the same
    held-out tasks), so the interval covers both which tasks the held-out split happens to hold
    and what a training seed happens to give. For a difference between two variants, pass the
    cell-by-cell differences: pairing on seed and task removes what the two share.
    """
    if not scores or len({len(row) for row in scores}) != 1 or not scores[0]:
        raise ValueError(
            "scores must be a non-empty seeds x tasks matrix (every seed scored on the same tasks)"
        )
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    rng = random.Random(seed)
    n_seeds, n_tasks = len(scores), len(scores[0])
    means = []
    for _ in range(resamples):
        rows = [scores[rng.randrange(n_seeds)] for _ in range(n_seeds)]
        columns = [rng.randrange(n_tasks) for _ in range(n_tasks)]
        means.append(sum(row[c] for row in rows for c in columns) / (n_seeds * n_tasks))
    means.sort()
    tail = (1 - level) / 2
    low = means[math.floor(tail * (resamples - 1))]
    high = means[math.ceil((1 - tail) * (resamples - 1))]
    return statistics.fmean(v for row in scores for v in row), low, high


def machine_description() -> str:
    """The host, its core count and the accelerator, for the results' header."""
    import os

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return f"{platform.node()} ({os.cpu_count()} cores, {device})"


class TorchThreads(BaseModel):
    """The plan field both training benchmarks share: torch's CPU threads."""

    cpu_threads: int | None = Field(
        default=1,
        ge=1,
        description="torch's CPU threads; 1 by default because the sandbox's workers share the "
        "cores and oversubscribed torch threads run up to 10x slower. None = torch's default.",
    )

    def pin_threads(self) -> None:
        """Apply :attr:`cpu_threads` to this process's torch."""
        if self.cpu_threads is not None:
            import torch

            torch.set_num_threads(self.cpu_threads)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of ``header`` and ``rows`` (cells already formatted)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])
