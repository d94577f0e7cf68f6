"""The training loop: rollout -> execute -> score -> loss -> optimiser step -> log -> checkpoint.

Reads in the algorithm's order (CleanRL style). Generation is chunked and each chunk's programs
go to the sandbox as soon as they exist, so execution overlaps with generating the next chunk.
Every step draws its problems and sampling randomness from ``seed`` and the step number alone,
which, with the checkpointed optimiser, scheduler, method state and RNG states, makes ``resume``
continue bit-for-bit. Under ``accelerate launch`` the processes share each step's queries and
average their gradients (:mod:`kernel.distributed`); the main process logs, evaluates and writes
checkpoints.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from crucible.kernel.checkpoint import (
    TrainingState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from crucible.kernel.distributed import Processes, mean_metrics
from crucible.kernel.metrics import (
    PLOT_FILE,
    PLOTTED,
    MetricsLogger,
    TrainResult,
    activity_summary,
    plot_curves,
)
from crucible.kernel.offline import fit_offline
from crucible.kernel.plugin import (
    MethodClass,
    MethodContext,
    OfflineMethod,
    OfflineRun,
    OnlineMethod,
    Problem,
    Query,
    Rollout,
    Score,
)
from crucible.kernel.progress import progress_bar
from crucible.kernel.run_config import RunConfig
from crucible.kernel.sampler import Sample, Sampler, format_prompt
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.usage import METER
from crucible.sandbox_service.models import ExecuteRequest, ExecuteResponse, Status

# Queries generated per chunk; each chunk's programs are executed while the next is generated.
GENERATION_CHUNK = 4
REFERENCE_FILE = "reference_model.pt"


def step_seed(seed: int, step: int) -> int:
    """The seed of one step: a function of the run's seed and the step only."""
    return (seed * 1_000_003 + step * 7_919) % (2**31 - 1)


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, warmup: int, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then constant, linear decay or cosine decay to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        if schedule == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _progress_stats(metrics: dict[str, Any]) -> str:
    return (
        f"reward {metrics['reward_mean']:+.3f}  pass {metrics['pass_rate']:.2f}  "
        f"{metrics['tokens_per_s']:.0f} tok/s  gen {metrics['generation_s']:.1f}s  "
        f"sandbox {metrics['sandbox_s']:.1f}s"
    )


class Trainer:
    """Runs one method on one model against the sandbox: an online method step by step, an
    offline one through its single ``fit`` (:mod:`kernel.offline`)."""

    def __init__(
        self,
        config: RunConfig,
        method_class: MethodClass,
        method_config: BaseModel,
        problems: Sequence[Problem],
        model: Any,
        tokenizer: Any,
        sandbox: SandboxHandle,
        *,
        evaluate: Callable[[int], dict[str, float]] | None = None,
        show_progress: bool = True,
    ) -> None:
        if not problems:
            raise ValueError("no training problems: the dataset split is empty")
        self.config = config
        self.problems = list(problems)
        self.model = model
        self.tokenizer = tokenizer
        self.sandbox = sandbox
        self.evaluate = evaluate
        self.show_progress = show_progress
        self.output_dir = Path(config.trainer.output_dir)
        self.processes = Processes()
        if config.trainer.batch_prompts < self.processes.count:
            raise ValueError(
                f"trainer.batch_prompts={config.trainer.batch_prompts} is smaller than the "
                f"{self.processes.count} processes of this launch: each needs a prompt per step"
            )
        device = next(model.parameters()).device
        reference = None
        if issubclass(method_class, OnlineMethod) and method_class.needs_reference_model:
            reference = copy.deepcopy(model).eval().requires_grad_(False)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.context = MethodContext(
            model=model,
            tokenizer=tokenizer,
            device=device,
            seed=config.trainer.seed,
            pad_token_id=int(pad),
            reference_model=reference,
        )
        self.method: OnlineMethod[Any] | OfflineMethod[Any] = method_class(
            method_config, self.context
        )
        method = self.method if isinstance(self.method, OnlineMethod) else None
        self.refresh_every = method.sampler_refresh_every() if method else 1
        if self.refresh_every < 1:
            raise ValueError(
                f"{method_class.__name__}.sampler_refresh_every() returned {self.refresh_every}; "
                "it must be >= 1"
            )
        # With a refresh interval above 1, generation runs on a frozen copy of the policy that
        # takes the learner's weights every `refresh_every` steps (see _refresh_generator).
        self.generator = model
        if self.refresh_every > 1:
            self.generator = copy.deepcopy(model).eval().requires_grad_(False)
        self.sampler = Sampler(self.generator, tokenizer, config.sampling)
        parameters = [p for p in model.parameters() if p.requires_grad]
        parameters += method.extra_parameters() if method else []
        self.optimizer = torch.optim.AdamW(
            parameters, lr=config.trainer.lr, weight_decay=config.trainer.weight_decay
        )
        self.scheduler = make_scheduler(
            self.optimizer,
            config.trainer.schedule,
            config.trainer.warmup_steps,
            config.trainer.steps,
        )
        self.step = 0
        self.counters: Counter[str] = Counter()

    # -------------------------------------------------------------------------- rollouts

    def _requests(
        self, method: OnlineMethod[Any], queries: Sequence[Query], samples: Sequence[Sample]
    ) -> list[ExecuteRequest]:
        limits = self.config.sandbox.limits()
        return [
            ExecuteRequest(
                request_id=f"{query.problem.problem_id}/{index}",
                source=sample.completion,
                prelude=query.program_prefix,
                tests=query.problem.tests,
                limits=limits,
                collect_coverage=method.needs_coverage,
            )
            for index, (query, sample) in enumerate(zip(queries, samples, strict=True))
        ]

    def _rollouts(
        self, method: OnlineMethod[Any], queries: list[Query], seed: int, timings: dict[str, float]
    ) -> list[Rollout]:
        """Sample every query (n samples, plus a greedy one if the method wants it) chunk by
        chunk, sending each chunk's programs to the sandbox while the next chunk generates."""
        n = self.config.sampling.n
        chat = self.config.data.chat
        pending: list[tuple[Query, Sample, bool, Future[ExecuteResponse]]] = []
        for start in range(0, len(queries), GENERATION_CHUNK):
            chunk = queries[start : start + GENERATION_CHUNK]
            prompts = [
                format_prompt(self.tokenizer, query.prompt, chat, answer_prefix=query.answer_prefix)
                for query in chunk
            ]
            began = time.perf_counter()
            sampled = self.sampler.sample(
                prompts, n=n, seed=seed + start + self.processes.rank * 1_000_003
            )
            flat = [(q, s, False) for q, group in zip(chunk, sampled, strict=True) for s in group]
            if method.needs_greedy_baseline:
                greedy = self.sampler.sample(prompts, n=1, greedy=True)
                flat += [(q, group[0], True) for q, group in zip(chunk, greedy, strict=True)]
            timings["generation_s"] += time.perf_counter() - began
            timings["tokens"] += sum(len(sample.completion_ids) for _, sample, _ in flat)
            futures = self.sandbox.submit(
                self._requests(method, [q for q, _, _ in flat], [s for _, s, _ in flat])
            )
            pending += [(q, s, g, f) for (q, s, g), f in zip(flat, futures, strict=True)]
        began = time.perf_counter()
        rollouts = [Rollout(q, s, f.result(), greedy=g) for q, s, g, f in pending]
        waited = time.perf_counter() - began
        timings["sandbox_wait_s"] += waited
        METER.waited_for_sandbox(waited)
        return rollouts

    # ---------------------------------------------------------------------------- a step

    def _draw_problems(self, rng: random.Random) -> list[Problem]:
        count = self.config.trainer.batch_prompts
        if count <= len(self.problems):
            return rng.sample(self.problems, count)
        return [rng.choice(self.problems) for _ in range(count)]

    def _micro_batches(self, size: int) -> list[slice]:
        """The micro-batches a learner batch of ``size`` rollouts is split into: at most
        ``grad_accum_steps`` of equal size (the last may be smaller), so there can be fewer
        than ``grad_accum_steps`` (6 rollouts with 4 steps give 3 batches of 2)."""
        accumulation = max(1, min(self.config.trainer.grad_accum_steps, size))
        width = math.ceil(size / accumulation)
        return [slice(start, start + width) for start in range(0, size, width)]

    def _learn(
        self, method: OnlineMethod[Any], rollouts: list[Rollout], scores: list[Score]
    ) -> dict[str, float]:
        """``update_epochs`` optimiser steps on one learner batch, then one scheduler step;
        losses, gradient norms and method metrics are averaged over the epochs and over the
        micro-batches actually formed."""
        if not rollouts or len(rollouts) != len(scores):
            raise ValueError(
                f"{type(method).__name__}.learner_batch returned {len(rollouts)} rollouts "
                f"and {len(scores)} scores; it must return a non-empty batch, one score each"
            )
        self.model.train()
        epochs = method.update_epochs()
        if epochs < 1:
            raise ValueError(f"{type(method).__name__}.update_epochs() returned {epochs}")
        batches = self._micro_batches(len(rollouts))
        losses: list[float] = []
        extra: defaultdict[str, float] = defaultdict(float)
        grad_norm = 0.0
        parameters = [p for group in self.optimizer.param_groups for p in group["params"]]
        for _ in range(epochs):
            for micro in batches:
                output = method.loss(rollouts[micro], scores[micro])
                (output.loss * (len(rollouts[micro]) / len(rollouts))).backward()
                losses.append(float(output.loss.detach()))
                for key, value in output.metrics.items():
                    extra[key] += value / (len(batches) * epochs)
            self.processes.average_gradients(parameters)
            if self.config.trainer.max_grad_norm is not None:
                norm = torch.nn.utils.clip_grad_norm_(parameters, self.config.trainer.max_grad_norm)
                grad_norm += float(norm) / epochs
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return {"loss": sum(losses) / len(losses), "grad_norm": grad_norm, **extra}

    def _refresh_generator(self) -> None:
        """Copy the learner's weights into the sampling copy (when there is one)."""
        if self.generator is not self.model:
            self.generator.load_state_dict(self.model.state_dict())

    def _prefill(self, method: OnlineMethod[Any]) -> None:
        """The method's prefill rounds (:meth:`OnlineMethod.prefill_rounds`): sampled from the
        starting model, executed and scored like steps, handed to the method, never learned
        from here. Round r draws its problems and randomness from step number -(r + 1)."""
        for index in range(method.prefill_rounds()):
            seed = step_seed(self.config.trainer.seed, -(index + 1))
            rng = random.Random(seed)
            torch.manual_seed(seed)
            queries = self.processes.shard(method.queries(self._draw_problems(rng)))
            self.model.eval()
            rollouts = self._rollouts(method, queries, seed, defaultdict(float))
            method.prefill(rollouts, method.score(rollouts))

    def _train_step(self, method: OnlineMethod[Any]) -> dict[str, Any]:
        seed = step_seed(self.config.trainer.seed, self.step)
        rng = random.Random(seed)
        torch.manual_seed(seed)
        timings: defaultdict[str, float] = defaultdict(float)
        queries = self.processes.shard(method.queries(self._draw_problems(rng)))
        if self.step % self.refresh_every == 0:
            self._refresh_generator()
        self.model.eval()
        rollouts = self._rollouts(method, queries, seed, timings)
        scores = method.score(rollouts)
        began = time.perf_counter()
        learned = self._learn(method, *method.learner_batch(rollouts, scores))
        timings["learn_s"] += time.perf_counter() - began
        observed = method.observe(rollouts, scores)
        sampled = [r for r in rollouts if not r.greedy]
        statuses = Counter(r.verdict.status.value for r in sampled)
        self.counters.update({f"status/{key}": value for key, value in statuses.items()})
        rewards = [score.reward for score, r in zip(scores, rollouts, strict=True) if not r.greedy]
        generation = timings["generation_s"]
        return {
            "reward_mean": sum(rewards) / len(rewards),
            "pass_rate": statuses[Status.PASSED.value] / len(sampled),
            "lr": self.scheduler.get_last_lr()[0],
            **learned,
            **observed,
            "generation_s": generation,
            "sandbox_s": timings["sandbox_wait_s"],
            "sandbox_exec_s": sum(r.verdict.wall_time_ms for r in rollouts) / 1000.0,
            "learn_s": timings["learn_s"],
            "tokens_per_s": timings["tokens"] / generation if generation else 0.0,
            "completions": len(rollouts),
            "generated_tokens": timings["tokens"],
            **{f"status/{key}": value / len(sampled) for key, value in statuses.items()},
        }

    # ------------------------------------------------------------------------- the run

    def _checkpoint(self) -> None:
        """The weights, optimiser and scheduler are the same in every process; the method's
        state (curricula, buffers) is per process, as each observes its own rollouts."""
        method_states = self.processes.gather(self.method.state_dict())
        if self.processes.is_main:
            save_checkpoint(
                self.output_dir,
                self.model,
                TrainingState(
                    optimizer=self.optimizer.state_dict(),
                    scheduler=self.scheduler.state_dict(),
                    method={"processes": method_states},
                    step=self.step,
                    counters=dict(self.counters),
                ),
            )
        self.processes.wait()

    def _save_reference(self) -> None:
        """Keep the reference model's weights beside the checkpoints: it is the run's starting
        model (after any warm start), which a resumed run cannot rebuild from the checkpoint."""
        reference = self.context.reference_model
        if reference is None:
            return
        if self.processes.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            weights = {k: v.detach().cpu() for k, v in reference.state_dict().items()}
            torch.save(weights, self.output_dir / REFERENCE_FILE)
        self.processes.wait()

    def _load_reference(self) -> None:
        reference = self.context.reference_model
        if reference is None:
            return
        path = self.output_dir / REFERENCE_FILE
        if not path.exists():
            raise ValueError(
                f"{path} is missing: {type(self.method).__name__} needs the run's reference model "
                "to resume, and this run did not save one"
            )
        reference.load_state_dict(torch.load(path, weights_only=True))

    def resume(self) -> int:
        """Load the newest checkpoint, if any; returns the step it reached."""
        folder = latest_checkpoint(self.output_dir)
        if folder is None:
            return 0
        state = load_checkpoint(folder, self.model)
        self._load_reference()
        # The sampling copy restarts from the checkpoint's weights: exact when the checkpoint's
        # step is a multiple of refresh_every (the copy had just been refreshed there).
        self._refresh_generator()
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        method_states = state.method["processes"]
        if len(method_states) != self.processes.count:
            raise ValueError(
                f"checkpoint {folder} was written by {len(method_states)} processes; this launch "
                f"has {self.processes.count}: resume with the same number of processes"
            )
        self.method.load_state_dict(method_states[self.processes.rank])
        self.step = state.step
        self.counters = Counter({key: int(value) for key, value in state.counters.items()})
        return self.step

    def _evaluate(self) -> dict[str, float]:
        """The held-out evaluation, in the main process (the others wait for it)."""
        trainer = self.config.trainer
        due = trainer.eval_every and (
            self.step % trainer.eval_every == 0 or self.step == trainer.steps
        )
        if self.evaluate is None or not due:
            return {}
        result = self.evaluate(self.step) if self.processes.is_main else {}
        self.processes.wait()
        return result

    def _fit(
        self,
        method: OfflineMethod[Any],
        *,
        resume: bool,
        initial_metrics: dict[str, float] | None,
    ) -> TrainResult:
        run = OfflineRun(
            problems=self.problems,
            sandbox=self.sandbox,
            sampler=self.sampler,
            config=self.config,
            output_dir=self.output_dir,
        )
        result = fit_offline(
            method,
            run,
            processes=self.processes.count,
            resume=resume,
            initial_metrics=initial_metrics,
        )
        self.step = result.steps
        return result

    def train(
        self, *, resume: bool = False, initial_metrics: dict[str, float] | None = None
    ) -> TrainResult:
        """Run until ``trainer.steps``; with ``resume``, continue from the newest checkpoint.
        ``initial_metrics`` (the starting model's evaluation) are logged as step 0 of a new run,
        so the curves start where training started. An offline method is fitted once instead
        (:mod:`kernel.offline`)."""
        if isinstance(self.method, OfflineMethod):
            return self._fit(self.method, resume=resume, initial_metrics=initial_metrics)
        method = self.method
        trainer = self.config.trainer
        resumed_at = self.resume() if resume else None
        if not resumed_at:
            self._save_reference()
            self._prefill(method)
        main = self.processes.is_main
        logger = MetricsLogger(self.output_dir, resume_step=resumed_at) if main else None
        if logger is not None and resumed_at is None and initial_metrics:
            logger.log(0, initial_metrics)
        try:
            with progress_bar(
                self.method.name,
                trainer.steps,
                enabled=self.show_progress and main,
                completed=self.step,
            ) as bar:
                while self.step < trainer.steps:
                    metrics = mean_metrics(self.processes.gather(self._train_step(method)))
                    self.step += 1
                    metrics.update(self._evaluate())
                    if logger is not None:
                        logger.log(self.step, metrics)
                    if trainer.checkpoint_every and (
                        self.step % trainer.checkpoint_every == 0 or self.step == trainer.steps
                    ):
                        self._checkpoint()
                    bar.update(completed=self.step, note=_progress_stats(metrics))
            history: list[dict[str, Any]] = []
            plot = None
            if logger is not None:
                history = logger.read()
                plot = plot_curves(
                    history, self.output_dir / PLOT_FILE, PLOTTED, f"{self.method.name} training"
                )
        finally:
            if logger is not None:
                logger.close()
        self.processes.wait()
        return TrainResult(
            steps=self.step,
            output_dir=self.output_dir,
            history=history,
            plot=plot,
            activity=activity_summary(history, method.activity_metrics),
        )
