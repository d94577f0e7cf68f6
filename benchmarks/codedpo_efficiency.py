"""Evidence for CodeDPO's efficiency pairs: do they make the model write faster code?

``crucible bench efficiency`` runs it (this module imports no ``cli``: the layers below only).

On ``crucible-basic`` every correct solution of a task is equally fast, so CodeDPO builds almost no
efficiency pairs there and nothing can be measured. This benchmark brings its own small task set
(:data:`FAMILIES`): five families whose problems each have two correct canonical solutions of
clearly different cost on their tests (a loop against a formula, trial division to n against to
√n, naive recursion against iteration, a list scan against a set built once). Each family is
instantiated with the constants :data:`CONSTANTS`; those in :data:`HELD_OUT` are the held-out
problems, the others the training problems. The constant is the default of the function's last
parameter, shown in the signature, the name and the docstring example, and the bodies refer to
the parameter: a held-out problem is a new prompt with new tests whose solutions the model has
seen the shape of. (A constant written into the body would have to be copied from the prompt,
which the 2-layer tiny model cannot do reliably: held-out pass@1 on crucible-basic is ~0.04.)
The docstring example is the tests' most expensive input, because CodeDPO times candidates on
the tests it trusts, which here are mostly the prompt's example (``prompt_example_tests``).

Protocol, per seed:

1. The tiny policy (``configs/codedpo.yaml``'s model, seeded) is fine-tuned with that config's
   warm start on the training problems with BOTH canonical solutions, so it writes each about
   half of the time.
2. CodeDPO's own pipeline on the training problems: :func:`methods.codedpo.build.pair_builder`
   (sampling, the n × m matrix, self-verification, CPU timing with repeats and the noise
   threshold of :func:`methods.codedpo.verify.efficiency_pair`), then
   :func:`methods.codedpo.train.train_dpo`, with ``configs/codedpo.yaml``'s settings changed
   only as :data:`RUN_OVERRIDES` says (and why).
3. Measured: the pairs built; every efficiency pair's two codes timed again with fresh repeats on
   the problem's own tests (so the selection's luck, the winner's curse, is not counted); and on
   the held-out problems (and, as a diagnostic, the training problems) before and after DPO:
   pass@1 of ``--samples`` codes per problem at the evaluation temperature, the share of passing
   codes that are the fast variant, and the mean and median CPU time of passing codes.

A passing code is classified as the fast variant by CPU time: faster than the geometric mean of
the two canonical solutions' times on the same problem, measured in the same interleaved batch
of runs. Every time is the minimum CPU time (the sum over a program's tests) of
``timing_repeats`` fresh runs in the pooled sandbox; the passing codes of the models before and
after DPO are timed together in one interleaved batch after both evaluations, so a drift of the
machine's speed between the evaluations cannot enter the before/after ratio.

Results: ``benchmarks/results/codedpo_efficiency{,_quick}.{json,md}``.
"""

from __future__ import annotations

import json
import math
import statistics
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from crucible.benchmarks.common import TorchThreads, machine_description, markdown_table, spread
from crucible.evaluation.tasks import Split, Task
from crucible.sandbox_service.models import AssertTest, TestCase

if TYPE_CHECKING:
    from crucible.evaluation.evaluate import EvalResult, EvalSettings
    from crucible.kernel.run_config import RunConfig
    from crucible.kernel.sandbox import SandboxHandle
    from crucible.methods.codedpo.config import CodeDPOConfig
    from crucible.methods.codedpo.pairs import PreferencePair, Text

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "codedpo.yaml"
RESULTS = REPO / "benchmarks" / "results"
SOURCE = "codedpo-efficiency"

# ----------------------------------------------------------------------------- the task set


@dataclass(frozen=True)
class Arg:
    """An argument as a test writes it (``text``) and as the reference receives it (``value``),
    so an input such as ``list(range(1000))`` stays one short line in a prompt."""

    text: str
    value: Any


def _int(value: int) -> Arg:
    return Arg(str(value), value)


def _range(stop: int, step: int = 1) -> Arg:
    text = f"list(range({stop}))" if step == 1 else f"list(range(0, {stop}, {step}))"
    return Arg(text, list(range(0, stop, step)))


@dataclass(frozen=True)
class Family:
    """A task template with two correct bodies; ``slow`` does far more work than ``fast`` on
    ``inputs(k)``, whose first entry the prompt shows. ``reference(k, *args)`` gives the
    expected values; the parameter ``k`` (default: the constant) ends the signature."""

    name: str
    params: str
    returns: str
    doc: str
    slow: str
    fast: str
    reference: Callable[..., Any]
    inputs: Callable[[int], Sequence[Sequence[Arg]]]


def _prime_at_least(n: int) -> int:
    while n < 2 or any(n % d == 0 for d in range(2, math.isqrt(n) + 1)):
        n += 1
    return n


def _fibonacci_times(k: int, n: int) -> int:
    previous, current = 0, 1
    for _ in range(n):
        previous, current = current, previous + current
    return k * previous


# Sizes: on the first input (the prompt's example) the slow body costs ~25-35 ms of CPU, the fast
# one microseconds; each test also costs the sandbox's fixed ~2 ms. The sandbox's limit is 2 s.
FAMILIES: tuple[Family, ...] = (
    Family(
        name="count_multiples",
        params="n: int",
        returns="int",
        doc="Return how many of the numbers 1, 2, ..., n are multiples of k.",
        slow="return sum(1 for i in range(1, n + 1) if i % k == 0)",
        fast="return n // k",
        reference=lambda k, n: len(range(k, n + 1, k)),
        inputs=lambda k: [[_int(1_000_000)], [_int(0)], [_int(1_003)]],
    ),
    Family(
        name="sum_times",
        params="n: int",
        returns="int",
        doc="Return k * 1 + k * 2 + ... + k * n.",
        slow="total = 0\nfor i in range(1, n + 1):\n    total += i * k\nreturn total",
        fast="return k * n * (n + 1) // 2",
        reference=lambda k, n: sum(range(k, k * n + 1, k)),
        inputs=lambda k: [[_int(1_000_000)], [_int(0)], [_int(999)]],
    ),
    Family(
        name="is_prime_plus",
        params="n: int",
        returns="bool",
        doc="Return True if n + k is a prime number, else False.",
        slow="m = n + k\nreturn m > 1 and all(m % d for d in range(2, m))",
        fast="m = n + k\nreturn m > 1 and all(m % d for d in range(2, int(m ** 0.5) + 1))",
        reference=lambda k, n: _prime_at_least(n + k) == n + k,
        inputs=lambda k: [
            [_int(_prime_at_least(600_000) - k)],
            [_int(1 - k)],
            [_int(_prime_at_least(600_000) + 1 - k)],
        ],
    ),
    Family(
        name="fib_from",
        params="n: int",
        returns="int",
        doc="Return a(n), where a(0) = 0, a(1) = k and a(i) = a(i - 1) + a(i - 2).",
        slow="def a(i: int) -> int:\n    return i * k if i < 2 else a(i - 1) + a(i - 2)\n"
        "return a(n)",
        fast="x, y = 0, k\nfor _ in range(n):\n    x, y = y, x + y\nreturn x",
        reference=_fibonacci_times,
        inputs=lambda k: [[_int(27)], [_int(1)], [_int(12)]],
    ),
    Family(
        name="count_shifted",
        params="xs: list[int], ys: list[int]",
        returns="int",
        doc="Return how many x in xs have x + k in ys.",
        slow="return sum(1 for x in xs if x + k in ys)",
        fast="seen = set(ys)\nreturn sum(1 for x in xs if x + k in seen)",
        reference=lambda k, xs, ys: len(set(xs) & {y - k for y in ys}),
        inputs=lambda k: [
            [_range(2_500), _range(5_000, 2)],
            [_range(0), _range(5)],
            [_range(10), _range(10)],
        ],
    ),
)
CONSTANTS = (2, 3, 4, 5, 6, 7)
HELD_OUT = (4, 7)


@dataclass(frozen=True)
class EfficiencyTask:
    """One problem and its two canonical completions (the task's own canonical solution is the
    fast one)."""

    family: str
    k: int
    task: Task
    slow: str
    fast: str

    @property
    def tests(self) -> list[str]:
        """The task's unit tests as assert code (what a timing run executes)."""
        return [test.body.code for test in self.task.tests if isinstance(test.body, AssertTest)]


def _call(function: str, args: Sequence[Arg]) -> str:
    return f"{function}({', '.join(arg.text for arg in args)})"


def make_task(family: Family, k: int) -> EfficiencyTask:
    """The problem of ``family`` with the constant ``k`` (prompt in crucible-basic's format)."""
    function = f"{family.name}_{k}"
    cases = [
        (_call(function, args), family.reference(k, *(a.value for a in args)))
        for args in family.inputs(k)
    ]
    shown_call, shown_value = cases[0]
    prompt = (
        f"def {function}({family.params}, k: int = {k}) -> {family.returns}:\n"
        f'    """{family.doc}\n\n'
        f"    >>> {shown_call}\n"
        f"    {shown_value!r}\n"
        f'    """\n'
    )
    slow, fast = (textwrap.indent(body, "    ") + "\n" for body in (family.slow, family.fast))
    split: Split = "test" if k in HELD_OUT else "train"
    task = Task(
        task_id=f"{SOURCE}/{family.name}/{function}",
        source=SOURCE,
        split=split,
        prompt=prompt,
        layout="prompt_plus_completion",
        entry_point=function,
        canonical_solution=prompt + fast,
        tests=[
            TestCase(
                name=f"test_{number}",
                body=AssertTest(code=f"assert (_out := {call}) == {value!r}, repr(_out)\n"),
            )
            for number, (call, value) in enumerate(cases)
        ],
    )
    return EfficiencyTask(family.name, k, task, slow=slow, fast=fast)


def efficiency_tasks() -> list[EfficiencyTask]:
    """Every family with every constant, family by family."""
    return [make_task(family, k) for family in FAMILIES for k in CONSTANTS]


# ------------------------------------------------------------------------------------ the plan

# Changes to configs/codedpo.yaml, as `--set` overrides:
# - max_new_tokens: the longest canonical body is 46 tokens with the end-of-sequence token, at
#   the edge of the config's 48.
# - epochs 6 instead of 2: the config's lr 1e-4 and beta 0.5 were chosen for ~25 optimiser steps
#   (2 epochs over ~100 crucible-basic pairs, batch 8); the 20 training problems here give ~30
#   pairs, so 2 epochs would be ~8 steps, a third of that update. 6 epochs restore ~25 steps.
# - the two method switches are already the config's values, restated because the benchmark
#   measures exactly them.
RUN_OVERRIDES = (
    "sampling.max_new_tokens=64",
    "method.epochs=6",
    "method.prompt_example_tests=true",
    "method.efficiency_pairs=true",
)
# The most held-out pass@1 may fall (absolute, mean over seeds) for a full run to pass.
PASS_AT_1_TOLERANCE = 0.05


class Plan(TorchThreads):
    """What one benchmark run does; the defaults are the full CPU protocol."""

    seeds: tuple[int, ...] = Field(default=(0, 1, 2), min_length=1)
    samples: int = Field(
        default=16, ge=1, description="Codes sampled per problem from each model to measure it."
    )
    timing_repeats: int = Field(
        default=3,
        ge=2,
        description="Fresh timed runs of every measured code; its time is their minimum.",
    )
    workdir: Path = Path("runs/bench-codedpo-efficiency")
    results_dir: Path = RESULTS
    results_name: str = "codedpo_efficiency"

    @classmethod
    def quick(cls, **changes: Any) -> Plan:
        """The smoke run: one seed, half the samples."""
        base = {"seeds": (0,), "samples": 8, "results_name": "codedpo_efficiency_quick"}
        return cls(**{**base, **changes})


def run_config(seed: int, output_dir: Path) -> RunConfig:
    """configs/codedpo.yaml with the seed, the output folder and :data:`RUN_OVERRIDES`."""
    from crucible.kernel.run_config import load_run_config

    return load_run_config(
        CONFIG,
        [
            f"model.seed={seed}",
            f"trainer.seed={seed}",
            f"trainer.output_dir={output_dir}",
            *RUN_OVERRIDES,
        ],
    )


def codedpo_settings(run: RunConfig) -> CodeDPOConfig:
    """The run's method section, validated by CodeDPO's own config class."""
    from crucible.kernel.run_config import method_settings
    from crucible.methods.codedpo.config import CodeDPOConfig

    settings = method_settings(run, CodeDPOConfig, str(CONFIG))
    assert isinstance(settings, CodeDPOConfig)
    return settings


def eval_settings(run: RunConfig, plan: Plan, seed: int) -> EvalSettings:
    """The evaluation's sampling (the config's evaluation temperature) and limits."""
    from crucible.evaluation.evaluate import EvalSettings

    return EvalSettings(
        n=plan.samples,
        ks=(1,),
        temperature=run.data.eval_temperature,
        max_new_tokens=run.sampling.max_new_tokens,
        stop=run.sampling.stop,
        seed=seed,
        limits=run.sandbox.limits(),
    )


# ---------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timed:
    """CPU times (ms) of codes of the task set, and per task the time separating its fast
    variant from its slow one: the geometric mean of its canonical solutions' times, measured
    in the same interleaved runs."""

    runs: list[list[float] | None]
    thresholds: dict[str, float]

    def is_fast(self, task: EfficiencyTask, runs: Sequence[float]) -> bool:
        return min(runs) < self.thresholds[task.task.task_id]


def time_codes(
    sandbox: SandboxHandle,
    codes: Sequence[tuple[EfficiencyTask, str]],
    *,
    repeats: int,
    run: RunConfig,
) -> Timed:
    """Time every (task, completion) on the task's own tests, ``repeats`` fresh runs each,
    interleaved with its tasks' canonical solutions (a run that fails gives None). A code
    sampled several times is run once and its times shared: a model that has learnt two
    solutions repeats them, and timing the same program again would only measure noise."""
    from crucible.evaluation.problems import to_problem
    from crucible.methods.codedpo.build import TimingJob, time_jobs

    if not codes:
        return Timed([], {})
    tasks = {task.task.task_id: task for task, _ in codes}
    problems = {task_id: to_problem(task.task) for task_id, task in tasks.items()}
    canonical = [
        TimingJob(problems[task_id], body, task.tests)
        for task_id, task in tasks.items()
        for body in (task.fast, task.slow)
    ]
    distinct = list(dict.fromkeys((task.task.task_id, code) for task, code in codes))
    generated = [
        TimingJob(problems[task_id], code, tasks[task_id].tests) for task_id, code in distinct
    ]
    times = time_jobs(
        sandbox, [*canonical, *generated], repeats=repeats, limits=run.sandbox.limits()
    )
    thresholds = {}
    for index, task_id in enumerate(tasks):
        fast, slow = times[2 * index], times[2 * index + 1]
        if fast is None or slow is None:
            raise RuntimeError(f"{task_id}: a canonical solution failed a timing run")
        thresholds[task_id] = math.sqrt(min(fast) * min(slow))
    position = {key: len(canonical) + index for index, key in enumerate(distinct)}
    return Timed([times[position[task.task.task_id, code]] for task, code in codes], thresholds)


def _text(text: Text) -> str:
    """A pair column's code (a plain continuation, or the one message of a conversation)."""
    return text if isinstance(text, str) else text[0]["content"]


def retime_pairs(
    pairs: Sequence[PreferencePair],
    tasks: dict[str, EfficiencyTask],
    sandbox: SandboxHandle,
    settings: CodeDPOConfig,
    *,
    repeats: int,
    run: RunConfig,
) -> list[dict[str, Any]]:
    """Every efficiency pair's two codes timed again with fresh runs on the problem's own tests
    (not the trusted tests and runs that selected them), judged by CodeDPO's own noise rule."""
    from crucible.methods.codedpo.verify import efficiency_pair

    efficiency = [pair for pair in pairs if pair.pair_type == "efficiency"]
    codes = [
        (tasks[pair.problem_id], _text(side))
        for pair in efficiency
        for side in (pair.chosen, pair.rejected)
    ]
    timed = time_codes(sandbox, codes, repeats=repeats, run=run)
    records = []
    for index, pair in enumerate(efficiency):
        task = tasks[pair.problem_id]
        chosen, rejected = timed.runs[2 * index], timed.runs[2 * index + 1]
        record: dict[str, Any] = {
            "problem_id": pair.problem_id,
            "selected_chosen_ms": pair.chosen_cpu_ms,
            "selected_rejected_ms": pair.rejected_cpu_ms,
            "retimed": chosen is not None and rejected is not None,
        }
        if chosen is not None and rejected is not None:
            record |= {
                "chosen_ms": round(min(chosen), 3),
                "rejected_ms": round(min(rejected), 3),
                "speedup": min(rejected) / min(chosen),
                "faster_beyond_noise": efficiency_pair(
                    [chosen, rejected], min_speedup=settings.min_speedup
                )
                == (0, 1),
                "chosen_is_fast_variant": timed.is_fast(task, chosen),
                "rejected_is_slow_variant": not timed.is_fast(task, rejected),
            }
        records.append(record)
    return records


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class TimedCode:
    """A passing sampled code: its best CPU time and whether that makes it the fast variant."""

    family: str
    task: str
    cpu_ms: float
    fast: bool


@dataclass(frozen=True)
class Sampled:
    """One model's evaluation on some tasks and the (task, code) of every passing sample."""

    tasks: Sequence[EfficiencyTask]
    result: EvalResult
    passing: list[tuple[EfficiencyTask, str]]


def sample(
    model: Any,
    tokenizer: Any,
    tasks: Sequence[EfficiencyTask],
    sandbox: SandboxHandle,
    evals: EvalSettings,
) -> Sampled:
    """``evals.n`` codes per task sampled and run against the task's tests."""
    from crucible.evaluation.evaluate import evaluate

    result = evaluate(model, tokenizer, [task.task for task in tasks], sandbox, evals)
    passing = [
        (task, code)
        for task, row in zip(tasks, result.rows, strict=True)
        for code, status in zip(row["completions"], row["statuses"], strict=True)
        if status == "PASSED"
    ]
    return Sampled(tasks, result, passing)


def time_samples(
    sandbox: SandboxHandle, samples: Sequence[Sampled], *, repeats: int, run: RunConfig
) -> list[dict[str, Any]]:
    """Each evaluation described with its passing codes' times, all of them timed in ONE
    interleaved batch: the models before and after DPO are compared on the same runs, so a
    drift of the machine's speed between their evaluations cannot enter the ratio (and a code
    both models wrote gets one time)."""
    timed = time_codes(
        sandbox, [code for sampled in samples for code in sampled.passing], repeats=repeats, run=run
    )
    described, start = [], 0
    for sampled in samples:
        runs = timed.runs[start : start + len(sampled.passing)]
        described.append(describe(sampled, runs, timed))
        start += len(sampled.passing)
    return described


def describe(sampled: Sampled, runs: Sequence[list[float] | None], timed: Timed) -> dict[str, Any]:
    """pass@1, and over the passing codes (those whose timing runs all passed): the share that
    is the fast variant and the mean and median CPU time; per family and per task too."""
    tasks, rows = sampled.tasks, sampled.result.rows
    codes = [
        TimedCode(task.family, task.task.task_id, round(min(times), 3), timed.is_fast(task, times))
        for (task, _), times in zip(sampled.passing, runs, strict=True)
        if times is not None
    ]
    by_family = {}
    for family in dict.fromkeys(task.family for task in tasks):
        mine = [r for task, r in zip(tasks, rows, strict=True) if task.family == family]
        by_family[family] = {
            "pass@1": sum(r["correct"] for r in mine) / sum(r["n"] for r in mine),
            "fast_share": _share([c.fast for c in codes if c.family == family]),
        }
    by_task = {}
    for task, row in zip(tasks, rows, strict=True):
        own = [c for c in codes if c.task == task.task.task_id]
        by_task[task.task.task_id] = {
            "passing": row["correct"],
            "fast": sum(c.fast for c in own),
            "mean_cpu_ms": _mean([c.cpu_ms for c in own]),
        }
    times = [c.cpu_ms for c in codes]
    return {
        "pass@1": sampled.result.pass_at_k["pass@1"],
        "samples": sum(r["n"] for r in rows),
        "passing": len(sampled.passing),
        "timed": len(codes),
        "fast_share": _share([c.fast for c in codes]),
        "mean_cpu_ms": _mean(times),
        "median_cpu_ms": _median(times),
        "by_family": by_family,
        "by_task": by_task,
    }


# -------------------------------------------------------------------------------- one seed


def start_model(run: RunConfig, train: Sequence[EfficiencyTask]) -> tuple[Any, Any, list[float]]:
    """The seeded policy after the run's warm start on BOTH canonical solutions of every
    training problem (so it writes each about half of the time), and its SFT losses."""
    from crucible.kernel.models import load_model
    from crucible.kernel.sft import fine_tune

    model, tokenizer = load_model(run.model)
    losses = fine_tune(
        model,
        tokenizer,
        [(task.task.prompt, body) for task in train for body in (task.slow, task.fast)],
        epochs=run.warm_start.sft_epochs,
        lr=run.warm_start.lr,
        batch_size=run.warm_start.batch_size,
        seed=run.trainer.seed,
    )
    return model, tokenizer, losses


def run_seed(
    plan: Plan,
    seed: int,
    tasks: Sequence[EfficiencyTask],
    sandbox: SandboxHandle,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """SFT on both solutions, measure, build CodeDPO's pairs, re-time them, DPO, measure."""
    from crucible.evaluation.problems import to_problems
    from crucible.methods.codedpo.build import pair_builder
    from crucible.methods.codedpo.train import train_dpo

    run = run_config(seed, plan.workdir / f"seed-{seed}")
    settings = codedpo_settings(run)
    evals = eval_settings(run, plan, seed)
    train = [task for task in tasks if task.task.split == "train"]
    held_out = [task for task in tasks if task.task.split == "test"]
    scopes = {"held_out": held_out, "train": train}
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        seconds[stage] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    def sampled(stage: str) -> dict[str, Sampled]:
        log(f"seed {seed}: sampling from the model {stage} DPO")
        return {
            scope: sample(model, tokenizer, scoped, sandbox, evals)
            for scope, scoped in scopes.items()
        }

    log(f"seed {seed}: SFT on both solutions of {len(train)} training problems")
    model, tokenizer, sft_losses = start_model(run, train)
    lap("sft")
    before = sampled("before")
    lap("sample_before")
    log(f"seed {seed}: building CodeDPO's pairs")
    built = pair_builder(run, model, tokenizer, sandbox, settings).build(
        to_problems([task.task for task in train])
    )
    lap("build_pairs")
    by_id = {task.task.task_id: task for task in train}
    retimed = retime_pairs(
        built.pairs, by_id, sandbox, settings, repeats=settings.timing_repeats, run=run
    )
    lap("retime_pairs")
    log(f"seed {seed}: DPO on {len(built.pairs)} pairs")
    dpo_log = (
        train_dpo(
            model, tokenizer, built.pairs, settings, output_dir=run.trainer.output_dir, seed=seed
        )
        if built.pairs
        else []
    )
    lap("dpo")
    after = sampled("after")
    lap("sample_after")
    log(f"seed {seed}: timing both models' passing codes")
    described = time_samples(
        sandbox,
        [*before.values(), *after.values()],
        repeats=plan.timing_repeats,
        run=run,
    )
    lap("time_samples")
    return {
        "seed": seed,
        "sft_loss": [round(loss, 4) for loss in sft_losses],
        "build_stats": built.stats,
        "pairs": [pair.model_dump(mode="json") for pair in built.pairs],
        "efficiency_pairs": retimed,
        "dpo_log": dpo_log,
        "before": dict(zip(scopes, described[: len(scopes)], strict=True)),
        "after": dict(zip(scopes, described[len(scopes) :], strict=True)),
        "seconds": seconds,
    }


# --------------------------------------------------------------------------------- reports

SCOPES = (("held_out", "held-out"), ("train", "training (diagnostic)"))
CODE_KEYS = ("pass@1", "fast_share", "mean_cpu_ms", "median_cpu_ms")
RATIO_KEYS = ("mean_cpu_ms", "median_cpu_ms")  # their change is before / after ("x faster")


def _change(key: str, before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    if key in RATIO_KEYS:
        return before / after if after > 0 else None
    return after - before


def seed_metrics(record: dict[str, Any]) -> dict[str, float | None]:
    """One seed's numbers, flat: the pairs, then before/after/change per scope and family. An
    efficiency pair that could not be re-timed counts as neither faster nor a variant match."""
    pairs = record["efficiency_pairs"]
    retimed = [pair for pair in pairs if pair["retimed"]]
    metrics: dict[str, float | None] = {
        "correctness_pairs": record["build_stats"].get("correctness_pairs", 0.0),
        "efficiency_pairs": float(len(pairs)),
        "selected_chosen_ms": _mean([p["selected_chosen_ms"] for p in pairs]),
        "selected_rejected_ms": _mean([p["selected_rejected_ms"] for p in pairs]),
        "selected_speedup": _median(
            [p["selected_rejected_ms"] / p["selected_chosen_ms"] for p in pairs]
        ),
        "retimed_chosen_ms": _mean([p["chosen_ms"] for p in retimed]),
        "retimed_rejected_ms": _mean([p["rejected_ms"] for p in retimed]),
        "retimed_speedup": _median([p["speedup"] for p in retimed]),
        "retimed_faster_share": _share([p.get("faster_beyond_noise", False) for p in pairs]),
        "chosen_fast_share": _share([p.get("chosen_is_fast_variant", False) for p in pairs]),
        "rejected_slow_share": _share([p.get("rejected_is_slow_variant", False) for p in pairs]),
    }
    for scope, _ in SCOPES:
        before, after = record["before"][scope], record["after"][scope]
        for key in CODE_KEYS:
            metrics[f"{scope}.before.{key}"] = before[key]
            metrics[f"{scope}.after.{key}"] = after[key]
            metrics[f"{scope}.change.{key}"] = _change(key, before[key], after[key])
        for family in before["by_family"]:
            for key in ("pass@1", "fast_share"):
                metrics[f"{scope}.before.{family}.{key}"] = before["by_family"][family][key]
                metrics[f"{scope}.after.{family}.{key}"] = after["by_family"][family][key]
    return metrics


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float] | None]:
    """Every metric's mean and standard deviation over the seeds that have a value for it
    (a seed without efficiency pairs has no speedup), with that number of seeds."""
    per_seed = [seed_metrics(record) for record in records]
    summary: dict[str, dict[str, float] | None] = {}
    for key in per_seed[0]:
        values = [float(v) for metrics in per_seed if (v := metrics.get(key)) is not None]
        if values:
            mean, sd = spread(values)
            summary[key] = {"mean": mean, "sd": sd, "seeds": len(values)}
        else:
            summary[key] = None
    return summary


def verdict(summary: dict[str, dict[str, float] | None]) -> dict[str, Any]:
    """The headline and whether it holds: held-out passing code faster on average after DPO,
    and held-out pass@1 not down by more than :data:`PASS_AT_1_TOLERANCE`."""
    ratio = summary.get("held_out.change.mean_cpu_ms")
    delta = summary.get("held_out.change.pass@1")
    faster = ratio is not None and ratio["mean"] > 1.0
    kept = delta is not None and delta["mean"] >= -PASS_AT_1_TOLERANCE
    return {
        "speedup": ratio["mean"] if ratio else None,
        "faster": faster,
        "pass_at_1_kept": kept,
        "passed": faster and kept,
    }


def _cell(stat: dict[str, float] | None, spec: str, suffix: str = "") -> str:
    if stat is None:
        return "–"
    return f"{stat['mean']:{spec}}{suffix} ± {stat['sd']:{spec.lstrip('+')}}"


PAIR_ROWS = (
    ("correctness pairs", "correctness_pairs", ".1f"),
    ("efficiency pairs", "efficiency_pairs", ".1f"),
    ("chosen CPU ms at selection (trusted tests, mean)", "selected_chosen_ms", ".1f"),
    ("rejected CPU ms at selection (trusted tests, mean)", "selected_rejected_ms", ".1f"),
    ("speedup at selection (median rejected / chosen)", "selected_speedup", ".2f"),
    ("re-timed chosen CPU ms (all tests, fresh runs, mean)", "retimed_chosen_ms", ".1f"),
    ("re-timed rejected CPU ms (mean)", "retimed_rejected_ms", ".1f"),
    ("re-timed speedup (median rejected / chosen)", "retimed_speedup", ".2f"),
    ("re-timed: chosen faster beyond noise", "retimed_faster_share", ".0%"),
    ("chosen is the fast variant", "chosen_fast_share", ".0%"),
    ("rejected is the slow variant", "rejected_slow_share", ".0%"),
)
CODE_ROWS = (
    ("pass@1", "pass@1", ".3f"),
    ("fast-variant share of passing codes", "fast_share", ".0%"),
    ("mean CPU ms of passing codes", "mean_cpu_ms", ".1f"),
    ("median CPU ms of passing codes", "median_cpu_ms", ".1f"),
)


def pair_table(summary: dict[str, dict[str, float] | None]) -> list[tuple[str, str]]:
    """(metric, mean ± sd over seeds) rows about the efficiency pairs."""
    return [(label, _cell(summary.get(key), spec)) for label, key, spec in PAIR_ROWS]


def code_table(summary: dict[str, dict[str, float] | None]) -> list[tuple[str, str, str, str]]:
    """(metric, before DPO, after DPO, change) rows about the generated code, per scope."""
    rows = []
    for scope, scope_label in SCOPES:
        for label, key, spec in CODE_ROWS:
            ratio = key in RATIO_KEYS
            change = summary.get(f"{scope}.change.{key}")
            rows.append(
                (
                    f"{scope_label}: {label}",
                    _cell(summary.get(f"{scope}.before.{key}"), spec),
                    _cell(summary.get(f"{scope}.after.{key}"), spec),
                    _cell(change, ".2f", "× faster") if ratio else _cell(change, "+" + spec),
                )
            )
    return rows


def family_table(summary: dict[str, dict[str, float] | None]) -> list[tuple[str, ...]]:
    """Held-out (family, pass@1 before, after, fast share before, after) rows."""
    return [
        (
            family.name,
            *(
                _cell(summary.get(f"held_out.{when}.{family.name}.{key}"), spec)
                for key, spec in (("pass@1", ".3f"), ("fast_share", ".0%"))
                for when in ("before", "after")
            ),
        )
        for family in FAMILIES
    ]


def headline(report: dict[str, Any]) -> str:
    """One sentence: how much faster held-out code got, and what happened to pass@1."""
    summary = report["summary"]
    ratio = summary.get("held_out.change.mean_cpu_ms")
    shares = [summary.get(f"held_out.{when}.fast_share") for when in ("before", "after")]
    passes = [summary.get(f"held_out.{when}.pass@1") for when in ("before", "after")]
    if ratio is None or None in shares or None in passes:
        return "Held-out: no passing code to time before or after DPO."
    before, after = (s["mean"] for s in shares if s)
    pass_before, pass_after = (p["mean"] for p in passes if p)
    return (
        f"Held-out generated code {ratio['mean']:.2f}× faster after DPO (mean CPU time of "
        f"passing codes, before / after); fast-variant share {before:.0%} → {after:.0%}; "
        f"pass@1 {pass_before:.3f} → {pass_after:.3f}."
    )


def markdown(report: dict[str, Any]) -> str:
    """The tables a person reads: the pairs, the generated code, the held-out families."""
    plan, config, summary = report["plan"], report["config"], report["summary"]
    method, warm, tasks = config["method"], config["warm_start"], report["task_set"]
    quick = " --quick" if plan["results_name"].endswith("quick") else ""
    outcome = "passed" if report["verdict"]["passed"] else "NOT passed"
    head = (
        f"# CodeDPO efficiency pairs ({plan['results_name']})\n\n"
        f"**{headline(report)}** Verdict: {outcome} (faster, and held-out pass@1 down by at "
        f"most {PASS_AT_1_TOLERANCE}).\n\n"
        f"Tiny model of `configs/codedpo.yaml` (overrides {', '.join(config['overrides'])}), "
        f"seeds {plan['seeds']}: SFT ({warm['sft_epochs']} epochs, lr {warm['lr']}) on both "
        f"canonical solutions of {tasks['train_problems']} training problems; CodeDPO's pairs "
        f"on them (n={method['codes_per_prompt']} codes, m={method['tests_per_prompt']} tests "
        f"plus the prompt's example, {method['timing_repeats']} timing runs, min speedup "
        f"{method['min_speedup']}); trl DPO (lr {method['lr']}, beta {method['beta']}, "
        f"{method['epochs']} epochs, batch {method['batch_size']}). Measured on "
        f"{tasks['held_out_problems']} held-out problems (constants {tasks['held_out']}) and "
        f"the training problems: {plan['samples']} samples each at "
        f"T={config['eval']['temperature']}, "
        f"every passing code timed by CPU time (minimum of {plan['timing_repeats']} fresh runs, "
        "both models' codes in one interleaved batch); "
        "a passing code is the fast variant when it is faster than the geometric mean of the "
        "problem's two canonical solutions' times. Mean ± sd over seeds. Machine: "
        f"{report['machine']}; {report['wall_s']:.0f} s. Produced by "
        f"`crucible bench efficiency{quick}` (protocol: `benchmarks/codedpo_efficiency.py`).\n\n"
    )
    return (
        head
        + "## Efficiency pairs (training problems, built from the SFT model)\n\n"
        + markdown_table(("metric", "mean ± sd"), pair_table(summary))
        + "\n\n## Generated code before and after DPO\n\n"
        + markdown_table(("metric", "before DPO", "after DPO", "change"), code_table(summary))
        + "\n\n## Held-out problems per family\n\n"
        + markdown_table(
            ("family", "pass@1 before", "pass@1 after", "fast share before", "fast share after"),
            family_table(summary),
        )
        + "\n"
    )


def run_benchmark(plan: Plan, log: Callable[[str], None]) -> dict[str, Any]:
    """Run every seed of the plan; write the json and md; return the report."""
    from crucible.kernel.sandbox import SandboxHandle

    plan.pin_threads()
    began = time.perf_counter()
    tasks = efficiency_tasks()
    with SandboxHandle(isolation="pooled") as sandbox:
        records = [run_seed(plan, seed, tasks, sandbox, log) for seed in plan.seeds]
    run = run_config(plan.seeds[0], plan.workdir)
    evals = eval_settings(run, plan, plan.seeds[0])
    summary = summarise(records)
    report = {
        "plan": json.loads(plan.model_dump_json()),
        "machine": machine_description(),
        "wall_s": round(time.perf_counter() - began, 1),
        "config": {
            "file": str(CONFIG.relative_to(REPO)),
            "overrides": list(RUN_OVERRIDES),
            "method": codedpo_settings(run).model_dump(mode="json"),
            "warm_start": run.warm_start.model_dump(mode="json"),
            "sampling": run.sampling.model_dump(mode="json"),
            "eval": {"temperature": evals.temperature, "top_p": evals.top_p, "n": evals.n},
        },
        "task_set": {
            "families": [
                {"name": f.name, "doc": f.doc, "slow": f.slow, "fast": f.fast} for f in FAMILIES
            ],
            "constants": list(CONSTANTS),
            "held_out": list(HELD_OUT),
            "train_problems": sum(1 for t in tasks if t.task.split == "train"),
            "held_out_problems": sum(1 for t in tasks if t.task.split == "test"),
        },
        "summary": summary,
        "verdict": verdict(summary),
        "seeds": records,
    }
    plan.results_dir.mkdir(parents=True, exist_ok=True)
    stem = plan.results_dir / plan.results_name
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    stem.with_suffix(".md").write_text(markdown(report))
    return report
