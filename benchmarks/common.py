"""What the benchmarks share: how a result is summarised over seeds and where it was measured."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Sequence


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
