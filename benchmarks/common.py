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
