"""Training metrics: JSONL for machines, TensorBoard for people watching, a PNG at the end.

Metric names are the variable names of the loop (``reward_mean``, ``pass_rate``,
``sandbox_s`` ...), so a curve can be traced back to the line that computed it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
PLOT_FILE = "training_curves.png"
#: The curves drawn in PLOT_FILE (those a run logs; offline runs log fewer).
PLOTTED = ["reward_mean", "pass_rate", "loss", "eval_pass@1", "tokens_per_s", "sandbox_s"]


@dataclass
class TrainResult:
    """What a finished (or resumed and finished) run reports."""

    steps: int
    output_dir: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    plot: Path | None = None
    activity: dict[str, float] = field(default_factory=dict)
    """The method's ``activity_metrics``, each averaged over the run's steps."""


class MetricsLogger:
    """Appends one JSON object per step; on resume, drops steps after the checkpoint."""

    def __init__(self, output_dir: Path, resume_step: int | None = None) -> None:
        output_dir.mkdir(parents=True, exist_ok=True)
        self.path = output_dir / METRICS_FILE
        if resume_step is not None and self.path.exists():
            kept = [row for row in self.read() if int(row.get("step", 0)) <= resume_step]
            self.path.write_text("".join(json.dumps(row) + "\n" for row in kept))
        elif self.path.exists():
            self.path.unlink()
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(output_dir / "tensorboard"))

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        row = {"step": step, **metrics}
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        for key, value in metrics.items():
            if isinstance(value, int | float) and math.isfinite(value):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def close(self) -> None:
        self._writer.close()


def activity_summary(rows: list[dict[str, Any]], names: Sequence[str]) -> dict[str, float]:
    """The mean over the run's step rows of each metric in ``names`` (a method's
    ``activity_metrics``) that was logged at least once, for the run's summary.

    >>> activity_summary([{"step": 0}, {"step": 1, "a": 1.0}, {"step": 2, "a": 0.0}], ["a", "b"])
    {'a': 0.5}
    """
    summary = {}
    for name in names:
        values = [float(row[name]) for row in rows if name in row]
        if values:
            summary[name] = sum(values) / len(values)
    return summary


def plot_curves(rows: list[dict[str, Any]], path: Path, keys: list[str], title: str) -> Path:
    """One panel per metric against the step; missing values are skipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [key for key in keys if any(key in row for row in rows)]
    columns = 2
    panels = max(1, len(present))
    rows_n = math.ceil(panels / columns)
    figure, axes = plt.subplots(rows_n, columns, figsize=(10, 3.2 * rows_n), squeeze=False)
    for axis, key in zip(axes.flat, present, strict=False):
        points = [(row["step"], row[key]) for row in rows if key in row]
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=2)
        axis.set_title(key)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(present) :]:
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
