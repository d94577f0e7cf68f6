"""How the trainer runs an :class:`~kernel.plugin.OfflineMethod`: one ``fit`` call in place of the
rollout loop, with the same outputs as any run (metrics rows, curves, a final checkpoint).

Offline methods build their data from the model's own samples (preference pairs, refinement
examples) and then train on it with their own trainer, so there are no per-step rollouts to
share between processes: they run in one process. A resumed run whose final checkpoint exists
loads it and does not fit again; a run stopped during ``fit`` starts over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crucible.kernel.checkpoint import latest_checkpoint
from crucible.kernel.metrics import PLOT_FILE, MetricsLogger, activity_summary, plot_curves
from crucible.kernel.plugin import OfflineMethod, OfflineRun

if TYPE_CHECKING:
    from crucible.kernel.loop import Trainer, TrainResult


def fit_offline(
    trainer: Trainer, *, resume: bool, initial_metrics: dict[str, float] | None
) -> TrainResult:
    """Fit ``trainer.method`` once (or load its finished run), log its rows as steps 1..n after
    ``initial_metrics`` at step 0, checkpoint, and plot."""
    from crucible.kernel.loop import PLOTTED, TrainResult

    method = trainer.method
    if not isinstance(method, OfflineMethod):
        raise TypeError(f"{type(method).__name__} is not an OfflineMethod")
    if trainer.processes.count > 1:
        raise ValueError(
            f"{method.name} trains offline in one process; this launch has "
            f"{trainer.processes.count} processes (run it without accelerate launch)"
        )
    finished = resume and latest_checkpoint(trainer.output_dir) is not None
    resumed_at = trainer.resume() if finished else None
    logger = MetricsLogger(trainer.output_dir, resume_step=resumed_at)
    try:
        if not finished:
            if initial_metrics:
                logger.log(0, initial_metrics)
            rows = method.fit(
                OfflineRun(
                    problems=trainer.problems,
                    sandbox=trainer.sandbox,
                    sampler=trainer.sampler,
                    config=trainer.config,
                    output_dir=trainer.output_dir,
                )
            )
            for step, row in enumerate(rows, start=1):
                logger.log(step, row)
            trainer.step = len(rows)
            trainer._checkpoint()
        history: list[dict[str, Any]] = logger.read()
        plot = plot_curves(
            history, trainer.output_dir / PLOT_FILE, PLOTTED, f"{method.name} training"
        )
    finally:
        logger.close()
    return TrainResult(
        steps=trainer.step,
        output_dir=trainer.output_dir,
        history=history,
        plot=plot,
        activity=activity_summary(history, method.activity_metrics),
    )
