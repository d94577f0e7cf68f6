"""CYCLE as a kernel plugin: an offline method running the paper's two training phases.

Phase I fine-tunes on the training problems' canonical solutions. Phase II samples that model on
the same problems, runs the samples against the problems' tests in the sandbox, turns them into
refinement and passing examples (:mod:`methods.cycle.data`), mixes them with code-generation
data at ``mix_ratio``, and fine-tunes on the mix with past-generation masking. Both phases use
the kernel's supervised step (:func:`kernel.sft.fine_tune`, labels masked on the prompt); the
Phase II examples are written to OUTPUT_DIR/cycle_data.jsonl. Self-refinement at inference is
the evaluation's refine loop (``data.eval_refine_rounds``), which builds its prompts with the
same function (:func:`evaluation.refine.refine_prompt`). Every Phase II row reports the
mechanism's activity: ``refine_share`` (refinement examples in the mix) and
``pgm_masked_token_fraction`` (prompt tokens hidden by past-generation masking that epoch, over
all prompt tokens it trained on).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import ClassVar

from rich.console import Console

from crucible.evaluation.tasks import Task
from crucible.kernel.plugin import OfflineMethod, OfflineRun, Problem
from crucible.methods.cycle.config import CycleConfig
from crucible.sandbox_service.models import ExecuteResponse, Status

DATA_FILE = "cycle_data.jsonl"


def task_of(problem: Problem) -> Task:
    """The evaluation task a problem was made from (``evaluation.problems.to_problem`` keeps it
    in ``metadata["task"]``): CYCLE's prompt template and feedback need it."""
    task = problem.metadata.get("task")
    if not isinstance(task, Task):
        raise ValueError(
            f"problem {problem.problem_id} carries no evaluation task in metadata['task']; "
            "CYCLE trains on problems made by evaluation.problems.to_problem"
        )
    return task


class Cycle(OfflineMethod[CycleConfig]):
    """Learning to self-refine from execution feedback (Phase I SFT, Phase II refinement)."""

    name: ClassVar[str] = "cycle"
    activity_metrics: ClassVar[tuple[str, ...]] = ("refine_share", "pgm_masked_token_fraction")

    def fit(self, run: OfflineRun) -> list[dict[str, float]]:
        """Phase I, Phase II data, Phase II; one row per epoch (``phase`` says which), the
        first Phase II row also carrying the data counts as ``data/...``."""
        from crucible.kernel.sft import fine_tune
        from crucible.methods.cycle.data import (
            Example,
            mix,
            model_input,
            past_generation_tokens,
            pgm_mask,
            refine_share,
            refinement_examples,
        )

        settings, model, tokenizer = self.settings, self.context.model, self.context.tokenizer
        chat = run.config.data.chat
        console = Console(stderr=True)
        seed = run.config.trainer.seed
        tasks = [task_of(problem) for problem in run.problems]
        phase1 = [
            Example(t.prompt, t.canonical_completion, "phase1", t.task_id)
            for t in tasks
            if t.canonical_completion
        ]

        def train(
            examples: list[Example], epochs: int, mask: Callable[[int, list[int]], list[int]] | None
        ) -> list[float]:
            return fine_tune(
                model,
                tokenizer,
                [(model_input(tokenizer, e, chat)[0], e.target) for e in examples],
                epochs=epochs,
                lr=settings.lr,
                batch_size=settings.batch_size,
                seed=seed,
                weight_decay=settings.weight_decay,
                attention_mask=mask,
            )

        rows: list[dict[str, float]] = []
        if settings.phase1_epochs and phase1:
            console.print(
                f"cycle: Phase I, {settings.phase1_epochs} epochs on {len(phase1)} solutions"
            )
            losses = train(phase1, settings.phase1_epochs, None)
            rows += [
                {"phase": 1.0, "epoch": e + 1.0, "loss": loss} for e, loss in enumerate(losses)
            ]

        console.print(f"cycle: sampling and executing {len(tasks)} problems for Phase II data")
        attempts = self._attempts(run, tasks)
        rng = random.Random(seed)
        collected = [
            example
            for task, tried in zip(tasks, attempts, strict=True)
            for example in refinement_examples(
                task,
                tried,
                target=settings.target,
                keep_passing=settings.keep_passing,
                rng=rng,
            )
        ]
        statuses = Counter(verdict.status for tried in attempts for _, verdict in tried)
        samples = sum(statuses.values())
        mixed = mix(collected, phase1, settings.mix_ratio, rng, settings.refine_data)
        with (run.output_dir / DATA_FILE).open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(asdict(example)) + "\n" for example in mixed)
        kinds = Counter(example.kind for example in mixed)
        data = {
            "data/samples": float(samples),
            "data/sample_pass_rate": statuses[Status.PASSED] / samples if samples else 0.0,
            **{f"data/{kind}_examples": float(kinds[kind]) for kind in ("refine", "passing")},
            "data/phase1_examples": float(kinds["phase1"]),
        }
        if not mixed:
            console.print(
                "[bold yellow]warning:[/] cycle collected no Phase II examples; Phase II skipped",
                highlight=False,
            )
            return rows
        console.print(f"cycle: Phase II, {settings.phase2_epochs} epochs on {len(mixed)} examples")
        inputs = [model_input(tokenizer, example, chat) for example in mixed]
        spans = [past_generation_tokens(tokenizer, text, chars) for text, chars in inputs]
        prompt_tokens = sum(
            len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text, _ in inputs
        )
        # Tokens hidden per epoch: fine_tune batches every example once an epoch, so the k-th
        # call of the mask belongs to epoch k // len(mixed).
        hidden = [0] * settings.phase2_epochs
        calls = [0]
        mask_rng = random.Random(seed + 1)

        def masking(index: int, ids: list[int]) -> list[int]:
            mask = pgm_mask(len(ids), spans[index], settings.pgm_rate, mask_rng)
            hidden[calls[0] // len(mixed)] += mask.count(0)
            calls[0] += 1
            return mask

        losses = train(mixed, settings.phase2_epochs, masking)
        share = refine_share(mixed)
        phase2 = [
            {
                "phase": 2.0,
                "epoch": e + 1.0,
                "loss": loss,
                "refine_share": share,
                "pgm_masked_token_fraction": hidden[e] / prompt_tokens if prompt_tokens else 0.0,
            }
            for e, loss in enumerate(losses)
        ]
        phase2[0].update(data)
        return rows + phase2

    def _attempts(
        self, run: OfflineRun, tasks: Sequence[Task]
    ) -> list[list[tuple[str, ExecuteResponse]]]:
        """``samples_per_problem`` samples of the current model per task, each with its verdict
        on the task's tests (all tasks' programs submitted to the sandbox together)."""
        from crucible.kernel.sampler import format_prompt

        prompts = [
            format_prompt(self.context.tokenizer, t.prompt, run.config.data.chat) for t in tasks
        ]
        samples = run.sampler.sample(
            prompts, n=self.settings.samples_per_problem, seed=run.config.trainer.seed
        )
        limits = run.config.sandbox.limits()
        requests = [
            task.to_request(s.completion, request_id=f"{task.task_id}/{j}", limits=limits)
            for task, group in zip(tasks, samples, strict=True)
            for j, s in enumerate(group)
        ]
        verdicts = iter(run.sandbox.execute(requests))
        return [[(s.completion, next(verdicts)) for s in group] for group in samples]
