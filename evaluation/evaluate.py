"""Measure a model on tasks through the sandbox: unbiased pass@k, failure breakdowns, refinement.

For each task, ``n`` completions are sampled (one greedy completion when the temperature is 0),
executed, and counted; pass@k uses the unbiased estimator of Chen et al. (2021). With
``refine_rounds`` > 0, every failing completion is fed back with CYCLE's feedback (the refine
prompt of :mod:`evaluation.refine`) and regenerated once per round; pass@1 is reported after each
round, a failure that becomes a pass counting from that round on. As in CYCLE's inference loop,
refinement stops early once a round does not raise pass@1 (``refine_early_stop``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crucible.evaluation.passk import estimate_pass_at_k
from crucible.evaluation.refine import refine_prompt
from crucible.evaluation.tasks import Task
from crucible.kernel.config import SamplingConfig
from crucible.kernel.progress import progress_bar
from crucible.kernel.run_config import SandboxSettings
from crucible.kernel.sampler import Sampler, format_prompt
from crucible.kernel.sandbox import SandboxHandle
from crucible.sandbox_service.models import ExecuteResponse, Limits, Status

DEFAULT_STOP = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\nassert ", "\n#", "\n```")
REFINE_TEMPERATURE = 0.6


@dataclass
class EvalSettings:
    """How to sample and execute during an evaluation."""

    n: int = 5
    ks: tuple[int, ...] = (1, 5)
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 128
    stop: tuple[str, ...] = DEFAULT_STOP
    chat: bool = False
    seed: int = 0
    refine_rounds: int = 0
    refine_early_stop: bool = True
    limits: Limits = field(default_factory=lambda: SandboxSettings().limits())
    """Per-test limits; a run evaluates under its own ``sandbox`` settings' limits."""
    progress: bool = False  # bars on stderr for generation and execution (minutes on a CPU)


@dataclass
class EvalResult:
    """Scores, breakdowns and one row per task."""

    pass_at_k: dict[str, float]
    refine_pass_at_1: list[float]
    statuses: dict[str, int]
    subtypes: dict[str, int]
    rows: list[dict[str, Any]] = field(default_factory=list)
    generation_s: float = 0.0
    sandbox_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            **self.pass_at_k,
            **{f"pass@1_round{r}": v for r, v in enumerate(self.refine_pass_at_1) if r},
            "statuses": self.statuses,
            "error_subtypes": self.subtypes,
            "tasks": len(self.rows),
            "generation_s": round(self.generation_s, 2),
            "sandbox_s": round(self.sandbox_s, 2),
        }


def _sampler(model: Any, tokenizer: Any, settings: EvalSettings, temperature: float) -> Sampler:
    greedy = temperature <= 0
    config = SamplingConfig(
        n=1 if greedy else settings.n,
        temperature=max(temperature, 1e-3),
        top_p=settings.top_p,
        max_new_tokens=settings.max_new_tokens,
        stop=settings.stop,
        seed=settings.seed,
    )
    return Sampler(model, tokenizer, config)


def _execute(
    sandbox: SandboxHandle,
    tasks: Sequence[Task],
    completions: Sequence[str],
    settings: EvalSettings,
) -> list[ExecuteResponse]:
    requests = [
        task.to_request(completion, request_id=f"{task.task_id}/{index}", limits=settings.limits)
        for index, (task, completion) in enumerate(zip(tasks, completions, strict=True))
    ]
    with progress_bar("executing", len(requests), enabled=settings.progress) as bar:
        return sandbox.execute(requests, on_verdict=bar.advance)


def evaluate(
    model: Any,
    tokenizer: Any,
    tasks: Sequence[Task],
    sandbox: SandboxHandle,
    settings: EvalSettings,
) -> EvalResult:
    """Evaluate ``model`` on ``tasks``; see the module docstring."""
    greedy = settings.temperature <= 0
    n = 1 if greedy else settings.n
    ks = tuple(k for k in settings.ks if k <= n) or (1,)
    sampler = _sampler(model, tokenizer, settings, settings.temperature)
    began = time.perf_counter()
    prompts = [format_prompt(tokenizer, task.prompt, settings.chat) for task in tasks]
    samples = sampler.sample(
        prompts, n=n, greedy=greedy, seed=settings.seed, progress=settings.progress
    )
    generation_s = time.perf_counter() - began
    flat_tasks = [task for task in tasks for _ in range(n)]
    flat_completions = [s.completion for group in samples for s in group]
    began = time.perf_counter()
    verdicts = _execute(sandbox, flat_tasks, flat_completions, settings)
    sandbox_s = time.perf_counter() - began
    passed = [v.status is Status.PASSED for v in verdicts]
    rounds = [list(passed)]
    current = list(flat_completions)
    current_verdicts = list(verdicts)
    refiner = _sampler(model, tokenizer, settings, REFINE_TEMPERATURE)
    for round_index in range(settings.refine_rounds):
        if settings.refine_early_stop and len(rounds) > 1 and sum(rounds[-1]) <= sum(rounds[-2]):
            break  # the last round raised no pass@1: CYCLE stops refining
        failing = [i for i, ok in enumerate(rounds[-1]) if not ok]
        if not failing:
            rounds.append(list(rounds[-1]))
            continue
        refine_prompts = [
            format_prompt(
                tokenizer,
                refine_prompt(flat_tasks[i], current[i], current_verdicts[i]).text,
                settings.chat,
            )
            for i in failing
        ]
        began = time.perf_counter()
        refined = refiner.sample(
            refine_prompts, n=1, seed=settings.seed + 1 + round_index, progress=settings.progress
        )
        generation_s += time.perf_counter() - began
        began = time.perf_counter()
        new_verdicts = _execute(
            sandbox, [flat_tasks[i] for i in failing], [g[0].completion for g in refined], settings
        )
        sandbox_s += time.perf_counter() - began
        next_round = list(rounds[-1])
        for i, group, verdict in zip(failing, refined, new_verdicts, strict=True):
            current[i], current_verdicts[i] = group[0].completion, verdict
            next_round[i] = verdict.status is Status.PASSED
        rounds.append(next_round)
    correct = [sum(passed[t * n : (t + 1) * n]) for t in range(len(tasks))]
    pass_at_k = {f"pass@{k}": _mean(estimate_pass_at_k(n, correct, k)) for k in ks}
    refine_pass_at_1 = [sum(r) / len(r) if r else 0.0 for r in rounds]
    statuses = Counter(v.status.value for v in verdicts)
    subtypes = Counter(
        v.error.subtype.value
        for v in verdicts
        if v.error is not None and v.status is not Status.PASSED
    )
    rows = [
        {
            "task_id": task.task_id,
            "n": n,
            "correct": correct[t],
            "statuses": [v.status.value for v in verdicts[t * n : (t + 1) * n]],
            "completions": flat_completions[t * n : (t + 1) * n],
            "passed_after_round": [sum(r[t * n : (t + 1) * n]) for r in rounds],
        }
        for t, task in enumerate(tasks)
    ]
    return EvalResult(
        pass_at_k=pass_at_k,
        refine_pass_at_1=refine_pass_at_1,
        statuses=dict(statuses),
        subtypes=dict(subtypes),
        rows=rows,
        generation_s=generation_s,
        sandbox_s=sandbox_s,
    )


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
