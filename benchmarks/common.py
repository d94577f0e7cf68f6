"""What the benchmarks share: torch's thread count, how a result is summarised over seeds and
where it was measured."""

from __future__ import annotations

import platform
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
    import numpy as np

    if not scores or len({len(row) for row in scores}) != 1 or not scores[0]:
        raise ValueError(
            "scores must be a non-empty seeds x tasks matrix (every seed scored on the same tasks)"
        )
    matrix = np.asarray(scores, dtype=float)
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    rng = np.random.default_rng(seed)
    n_seeds, n_tasks = matrix.shape
    seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    tasks = rng.integers(0, n_tasks, size=(resamples, n_tasks))
    means = np.array(
        [matrix[np.ix_(seeds[r], tasks[r])].mean() for r in range(resamples)], dtype=float
    )
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(matrix.mean()), float(low), float(high)


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
