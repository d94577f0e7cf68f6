"""CodeDPO as a kernel plugin: an offline method that builds its preference pairs from the model's
own codes and tests (or reads them from ``pairs_file``), then trains with trl's DPOTrainer.

Heavy imports (torch, trl, the sampler) happen inside :meth:`CodeDPO.fit`, so that listing the
installed methods stays cheap.
"""

from __future__ import annotations

import json
from typing import ClassVar

from rich.console import Console

from crucible.kernel.plugin import OfflineMethod, OfflineRun
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.methods.codedpo.pairs import read_pairs, write_pairs

PAIRS_FILE = "pairs.jsonl"
STATS_FILE = "pairs_stats.json"
DPO_DIR = "dpo"


class CodeDPO(OfflineMethod[CodeDPOConfig]):
    """Self-verified correctness and efficiency preference pairs, trained with DPO."""

    name: ClassVar[str] = "codedpo"
    activity_metrics: ClassVar[tuple[str, ...]] = (
        "generated_test_precision",
        "pairs_from_generated_tests",
    )

    def fit(self, run: OfflineRun) -> list[dict[str, float]]:
        """Build (or read) the pairs, write them to OUTPUT_DIR/pairs.jsonl with their counts in
        pairs_stats.json, and train; the first row also carries the counts as ``data/...``, and
        every row the mechanism's activity (``pairs_from_generated_tests``, and
        ``generated_test_precision`` when the pairs were built here). Without pairs, one row
        with the counts and the activity, and no training."""
        from crucible.methods.codedpo.build import pair_builder, pairs_from_generated_tests
        from crucible.methods.codedpo.train import train_dpo

        context, settings = self.context, self.settings
        console = Console(stderr=True)
        stats: dict[str, float] = {}
        if settings.pairs_file is not None:
            pairs = read_pairs(settings.pairs_file)
        else:
            console.print(f"codedpo: building preference pairs for {len(run.problems)} problems")
            built = pair_builder(
                run.config, context.model, context.tokenizer, run.sandbox, settings
            ).build(run.problems)
            pairs, stats = built.pairs, built.stats
            write_pairs(run.output_dir / PAIRS_FILE, pairs)
            (run.output_dir / STATS_FILE).write_text(json.dumps(stats, indent=2))
        activity = {"pairs_from_generated_tests": float(pairs_from_generated_tests(pairs))}
        if "generated_test_precision" in stats:
            activity["generated_test_precision"] = stats["generated_test_precision"]
        data = {f"data/{key}": value for key, value in stats.items()}
        if not pairs:
            console.print(
                "[bold yellow]warning:[/] codedpo built no preference pairs (see "
                f"{run.output_dir / STATS_FILE}); the model is not trained",
                highlight=False,
            )
            return [{**activity, **data}]
        console.print(f"codedpo: DPO on {len(pairs)} pairs")
        rows = train_dpo(
            context.model,
            context.tokenizer,
            pairs,
            settings,
            output_dir=run.output_dir / DPO_DIR,
            seed=run.config.trainer.seed,
        )
        for row in rows:
            row.update(activity)
        if rows:
            rows[0].update(data)
        return rows
