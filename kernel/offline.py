"""How an :class:`~kernel.plugin.OfflineMethod` is run: one ``fit`` call in place of the rollout
loop, with the same outputs as any run (metrics rows, curves, a final checkpoint).

Offline methods build their data from the model's own samples (preference pairs, refinement
examples) and then train on it with their own trainer, so there are no per-step rollouts to
share between processes: they run in one process. A resumed run whose final checkpoint exists
loads it and does not fit again; a run stopped during ``fit`` starts over. The checkpoint holds
the weights and the method's state; there is no kernel optimiser to save, as the method trains
with its own. This module needs nothing of the rollout loop (:mod:`kernel.loop` calls it), so
the two stay one-way.
"""

from __future__ import annotations

from typing import Any

from crucible.kernel.checkpoint import (
    TrainingState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from crucible.kernel.metrics import (
    PLOT_FILE,
    PLOTTED,
    MetricsLogger,
    TrainResult,
    activity_summary,
    plot_curves,
)
from crucible.kernel.plugin import OfflineMethod, OfflineRun


def fit_offline(
    method: OfflineMethod[Any],
    run: OfflineRun,
    *,
    processes: int,
    resume: bool,
    initial_metrics: dict[str, float] | None,
) -> TrainResult:
    """Fit ``method`` once (or load its finished run), log its rows as steps 1..n after
    ``initial_metrics`` at step 0, checkpoint, and plot."""
    if processes > 1:
        raise ValueError(
            f"{method.name} trains offline in one process; this launch has {processes} "
            "processes (run it without accelerate launch)"
        )
    output_dir = run.output_dir
    finished = latest_checkpoint(output_dir) if resume else None
    steps = 0
    if finished is not None:
        state = load_checkpoint(finished, method.context.model)
        method.load_state_dict(state.method["processes"][0])
        steps = state.step
    logger = MetricsLogger(output_dir, resume_step=steps if finished else None)
    try:
        if finished is None:
            if initial_metrics:
                logger.log(0, initial_metrics)
            rows = method.fit(run)
            for step, row in enumerate(rows, start=1):
                logger.log(step, row)
            steps = len(rows)
            save_checkpoint(
                output_dir,
                method.context.model,
                TrainingState(
                    optimizer={},
                    scheduler={},
                    method={"processes": [method.state_dict()]},
                    step=steps,
                    counters={},
                ),
            )
        history: list[dict[str, Any]] = logger.read()
        plot = plot_curves(history, output_dir / PLOT_FILE, PLOTTED, f"{method.name} training")
    finally:
        logger.close()
    return TrainResult(
        steps=steps,
        output_dir=output_dir,
        history=history,
        plot=plot,
        activity=activity_summary(history, method.activity_metrics),
    )
