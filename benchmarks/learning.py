"""Evidence that every method learns: one protocol, one table, one plot.

``crucible bench learning`` runs it.

Protocol, per seed:

1. One starting model: the suite's policy (or ``--model``), warm-started by SFT on the training
   split's canonical solutions with ``configs/demo.yaml``'s warm start and the suite's settings
   (:data:`SUITES`: the default ``crucible-steps`` runs ``tiny-steps`` with a longer completion
   budget; ``crucible-basic`` runs ``tiny``). Every method of that seed
   starts from these weights (CYCLE's Phase I *is* this warm start, so its ``phase1_epochs`` is 0).
2. One budget: every run generates about ``--budget`` completions from the policy while training
   (online methods: (steps + pool rounds) x prompts x samples, greedy baselines included;
   offline methods: the training problems they sample from are cut to fit). The generated
   completions and tokens are *measured* by the kernel's usage meter (:mod:`kernel.usage`) and
   reported, not assumed.
3. One evaluation: the held-out split, the same sampling for every method (n, temperature), pass@1
   and pass@5, then ``refine_rounds`` rounds of self-refinement from execution feedback (pass@1
   after each; no early stop), so refinement can be compared across methods and not only for
   CYCLE: one round in the ``--quick`` run, none in the full plan, whose CPU budget a round
   would double (a refinement prompt holds the task, the failing program and its feedback, so
   it costs more to sample from than the task alone). Every pass@1
   and every difference (method - start, method - its ablation) carries a 95 % bootstrap
   interval over held-out tasks and seeds (:func:`benchmarks.common.bootstrap_interval`); a
   method beats its start when its interval of the difference lies above zero.
4. Cost per run, split by the meter: generation seconds, seconds waiting for the sandbox, and the
   rest of the training wall time (learning: losses, backward, optimiser, method bookkeeping);
   held-out evaluations during training are excluded. The status mix is of every verdict the
   training asked for.

Each method's own settings come from its ``configs/<method>.yaml`` (the per-method learning rates
for the tiny model live there, with their reasons). Ablations flip one documented switch.

Each seed's start is also saved as a model folder (``<workdir>/seed-N/start-model``), so
``crucible eval --model <workdir>/seed-0/start-model --dataset crucible-steps --split train``
measures it on any split.

Runs train ``jobs`` at a time (one per core by default), each in its own process with its own
pooled sandbox and one torch thread: a run alternates generation, sandbox waits and learning,
so two runs keep two cores busy where one leaves them half idle. The full plan's cost is
sized to this: 3 starts and 36 runs of 512 generated completions each, every run evaluated on
134 held-out tasks x 10 samples, without refinement rounds and with start-to-end curves.

Every finished run is stored under ``--workdir`` and reused when the benchmark is run again (the
starting models too), so an interrupted benchmark resumes where it stopped. A stored run is keyed
by its config files, overrides and plan, and is redone when one of them changes; after changing a
plugin's code, pass ``--fresh`` (or delete that variant's folders).

Results: ``benchmarks/results/learning{,_quick}.{json,md,png}`` on crucible-steps,
``learning_basic{,_quick}.*`` on crucible-basic.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from crucible.benchmarks.common import (
    TorchThreads,
    bootstrap_interval,
    machine_description,
    spread,
)
from crucible.kernel.usage import Usage, snapshot

if TYPE_CHECKING:
    from crucible.evaluation.evaluate import EvalSettings
    from crucible.evaluation.tasks import Task
    from crucible.kernel.run_config import RunConfig
    from crucible.kernel.sandbox import SandboxHandle

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
RESULTS = REPO / "benchmarks" / "results"
START_CONFIG = "demo.yaml"
START_FILE = "start.pt"
START_MODEL = "start-model"  # the same weights as a model folder, for `crucible eval --model`
RUN_FILE = "bench_run.json"


@dataclass(frozen=True)
class Variant:
    """One row: a method's run config plus the ``--set`` overrides that make it an ablation."""

    label: str
    config: str
    overrides: tuple[str, ...] = ()
    ablation_of: str | None = None


# CYCLE's Phase I is the shared warm start. Phase II runs the paper's 3 epochs (configs/cycle.yaml
# raises it to 10 for a model trained from scratch): at 10, CYCLE alone took longer than the four
# other methods together, and the CPU benchmark must fit in 45 minutes.
CYCLE_OVERRIDES = ("method.phase1_epochs=0", "method.phase2_epochs=3")

METHODS = (
    Variant("grpo", "demo.yaml"),
    Variant("stepcoder", "stepcoder.yaml"),
    Variant("rltf", "rltf.yaml"),
    Variant("codedpo", "codedpo.yaml"),
    Variant("cycle", "cycle.yaml", CYCLE_OVERRIDES),
)
ABLATIONS = (
    Variant("stepcoder, CCCS off", "stepcoder.yaml", ("method.cccs=false",), "stepcoder"),
    Variant("stepcoder, FGO off", "stepcoder.yaml", ("method.fgo=false",), "stepcoder"),
    Variant(
        "rltf, coarse only",
        "rltf.yaml",
        ("method.fine_grained=false", "method.adaptive=false"),
        "rltf",
    ),
    Variant("codedpo, random pairs", "codedpo.yaml", ("method.ranking=random",), "codedpo"),
    Variant(
        "codedpo, prompt examples",
        "codedpo.yaml",
        ("method.prompt_example_tests=true",),
        "codedpo",
    ),
    Variant("cycle, no PGM", "cycle.yaml", (*CYCLE_OVERRIDES, "method.pgm_rate=0"), "cycle"),
    Variant(
        "cycle, no refine data",
        "cycle.yaml",
        (*CYCLE_OVERRIDES, "method.refine_data=false"),
        "cycle",
    ),
)


@dataclass(frozen=True)
class Suite:
    """A task suite the benchmark runs on: its default policy and the run-config settings every
    run of it gets (the start's included), before the plan's own overrides."""

    model: str
    overrides: tuple[str, ...]
    results_name: str


SUITES: dict[str, Suite] = {
    # Completions of 6-30 lines need up to ~130 tokens of tiny-steps' tokenizer, where
    # crucible-basic's one-liners fit the configs' 48. The warm start is demo.yaml's (30 epochs
    # at 3e-3): with it, tiny-steps scores train pass@1 0.33 (seed 0) and held-out 0.025-0.113
    # over seeds 0-2 (benchmarks/results/tiny_steps_start.md, learning.md).
    # The start also learns to write a test from the docstring examples (warm_start.test_writing):
    # CodeDPO verifies with the policy's own tests, and a start taught only solutions wrote a
    # usable one for 1 problem in 42.
    "crucible-steps": Suite(
        "tiny-steps",
        (
            "data.dataset=crucible-steps",
            "sampling.max_new_tokens=192",
            "warm_start.test_writing=true",
        ),
        "learning",
    ),
    "crucible-basic": Suite("tiny", ("data.dataset=crucible-basic",), "learning_basic"),
}


class Plan(TorchThreads):
    """What one benchmark run does; the defaults are the full CPU protocol."""

    suite: str = Field(default="crucible-steps", description=f"Task suite: {', '.join(SUITES)}.")
    model: str | None = Field(
        default=None,
        description="Policy: tiny, tiny-steps, smollm2-135m or a path; None = the suite's.",
    )
    seeds: tuple[int, ...] = (0, 1, 2)
    budget: int = Field(default=512, ge=8, description="Generated completions per run.")
    methods: tuple[str, ...] = tuple(v.label for v in METHODS)
    ablations: bool = True
    eval_samples: int = Field(default=10, ge=5, description="n per held-out task (pass@5).")
    eval_temperature: float = 0.8
    refine_rounds: int = 0
    max_eval_tasks: int | None = None
    curve_points: int = Field(default=1, ge=1, description="Held-out evals during a run.")
    jobs: int | None = Field(
        default=None,
        ge=1,
        description="Runs trained at once, each in its own process with its own pooled sandbox; "
        "None = one per cpu_threads of the machine's cores, or 1 with a CUDA device. A run "
        "alternates generation, sandbox waits and learning, so two runs on two cores keep "
        "both busy.",
    )
    overrides: tuple[str, ...] = Field(
        default=(),
        description="`--set` overrides of every run config (KEY=VALUE), of one method's runs "
        "(METHOD:KEY=VALUE, ablations included) or of the starting model's (start:KEY=VALUE).",
    )
    workdir: Path = Path("runs/bench-learning")
    results_dir: Path = RESULTS
    results_name: str | None = Field(
        default=None,
        description="Stem of the result files; None = the suite's (learning for crucible-steps, "
        "learning_basic for crucible-basic), with _quick appended for the smoke run.",
    )
    smoke: bool = Field(default=False, description="The --quick smoke run.")

    @property
    def stem(self) -> str:
        """The result files' name without suffix."""
        if self.results_name:
            return self.results_name
        suite = SUITES[self.suite]
        # another policy than the suite's (e.g. smollm2-135m on a GPU) never overwrites its files
        model = f"_{_slug(self.policy)}" if self.policy != suite.model else ""
        return suite.results_name + model + ("_quick" if self.smoke else "")

    def parallel_jobs(self, runs: int) -> int:
        """How many runs train at once: :attr:`jobs`, else a core's share per run on a CPU and
        one at a time where a CUDA device takes the model (runs would share its memory)."""
        import os

        import torch

        default = max(1, (os.cpu_count() or 1) // (self.cpu_threads or 1))
        if torch.cuda.is_available():
            default = 1
        return max(1, min(self.jobs or default, runs))

    def warm_start_threads(self) -> int | None:
        """torch threads of a start's warm start (SFT): the cores left to each of the starts
        that run at once. A seed's runs wait for its start, so with fewer seeds than jobs (the
        quick run's one seed) the other cores would idle through the longest step of the
        benchmark. None = torch's default, as :attr:`cpu_threads`."""
        import os

        if self.cpu_threads is None:
            return None
        starts = min(self.parallel_jobs(len(self.seeds)), len(self.seeds))
        return max(self.cpu_threads, (os.cpu_count() or 1) // starts)

    @property
    def policy(self) -> str:
        """The model every run trains: ``model``, else the suite's."""
        return self.model or SUITES[self.suite].model

    def suite_overrides(self) -> list[str]:
        """The suite's run-config settings, policy included (the plan's overrides come later
        and win)."""
        return [f"model.name_or_path={self.policy}", *SUITES[self.suite].overrides]

    def overrides_for(self, target: str) -> list[str]:
        """The overrides of every run plus those addressed to ``target`` (a method or start)."""
        return [
            setting
            for override_target, setting in map(_split_override, self.overrides)
            if override_target in ("", target)
        ]

    @classmethod
    def quick(cls, **changes: Any) -> Plan:
        """The smoke run: one seed, half the budget, 20 held-out tasks with a refinement round,
        no ablations."""
        base = {
            "seeds": (0,),
            "budget": 256,
            "refine_rounds": 1,
            "ablations": False,
            "max_eval_tasks": 20,
            "curve_points": 1,
            "smoke": True,
        }
        return cls(**{**base, **changes})

    def variants(self) -> list[Variant]:
        if self.suite not in SUITES:
            raise ValueError(f"unknown suite {self.suite!r}; choose from {sorted(SUITES)}")
        known = {v.label for v in METHODS}
        unknown = sorted(set(self.methods) - known)
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(known)}")
        targets = {"start", *known}
        for override in self.overrides:
            target, setting = _split_override(override)
            if target and target not in targets:
                raise ValueError(
                    f"override {override!r}: {target!r} is not a method or 'start' "
                    f"(choose from {sorted(targets)})"
                )
            if "=" not in setting:
                raise ValueError(f"override {override!r} is not KEY=VALUE")
        chosen = [v for v in METHODS if v.label in self.methods]
        if self.ablations:
            chosen += [v for v in ABLATIONS if v.ablation_of in self.methods]
        return chosen


def _split_override(override: str) -> tuple[str, str]:
    """``"rltf:trainer.lr=1e-5"`` -> ``("rltf", "trainer.lr=1e-5")``; no target -> ``""``."""
    key = override.split("=", 1)[0]
    if ":" not in key:
        return "", override
    target, setting = override.split(":", 1)
    return target, setting


# Completions an offline method samples per training problem, from its validated settings.
OFFLINE_COMPLETIONS_PER_PROBLEM: dict[str, Callable[[Any], int]] = {
    "codedpo": lambda s: int(s.codes_per_prompt) + int(s.tests_per_prompt),
    "cycle": lambda s: int(s.samples_per_problem),
}


# Generation rounds an online method runs before its first step (its pool), each costing a
# step's completions, from its validated settings.
PREFILL_ROUNDS: dict[str, Callable[[Any], int]] = {
    "rltf": lambda s: int(s.prefill_rounds),
}


# ----------------------------------------------------------------------------- one seed


def splits(plan: Plan) -> tuple[list[Task], list[Task]]:
    """The plan's training tasks and the held-out tasks it evaluates on."""
    from crucible.evaluation.datasets import load_dataset
    from crucible.kernel.run_config import load_run_config

    data = load_run_config(CONFIGS / START_CONFIG, plan.suite_overrides()).data
    eval_tasks = load_dataset(data.dataset, data.eval_split)
    if plan.max_eval_tasks:
        eval_tasks = eval_tasks[: plan.max_eval_tasks]
    return load_dataset(data.dataset, data.train_split), eval_tasks


class Bench:
    """Runs a plan: the shared sandbox, data and per-seed starting models."""

    def __init__(self, plan: Plan, sandbox: SandboxHandle, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.sandbox = sandbox
        self.log = log
        self.reused = 0  # finished runs taken from the workdir instead of trained again
        # The evaluation's sampling, limits and data are the start config's, whatever the seed.
        self.base = self._config(START_CONFIG, 0, plan.workdir)
        self.train_tasks, self.eval_tasks = splits(plan)

    def _config(
        self, name: str, seed: int, out: Path, extra: Sequence[str] = (), target: str = ""
    ) -> RunConfig:
        from crucible.kernel.run_config import load_run_config

        return load_run_config(
            CONFIGS / name,
            [
                *self.plan.suite_overrides(),
                f"model.seed={seed}",
                f"trainer.seed={seed}",
                f"trainer.output_dir={out}",
                "warm_start.sft_epochs=0",
                *extra,
                *(self.plan.overrides_for(target) if target else ()),
            ],
        )

    def start_key(self, seed: int) -> str:
        """What the seed's start and its evaluation depend on: a cached result with another key
        is stale (a changed config or plan) and is computed again."""
        plan = self.plan
        return _fingerprint(
            plan.suite_overrides(),
            seed,
            plan.overrides_for("start") or None,
            (CONFIGS / START_CONFIG).read_text(),
            plan.eval_samples,
            plan.eval_temperature,
            plan.refine_rounds,
            plan.max_eval_tasks,
            plan.cpu_threads,
            plan.warm_start_threads(),
        )

    def eval_settings(self, seed: int, *, refine: bool) -> EvalSettings:
        from crucible.evaluation.evaluate import EvalSettings

        base = self.base
        return EvalSettings(
            n=self.plan.eval_samples,
            ks=(1, 5),
            temperature=self.plan.eval_temperature,
            max_new_tokens=base.sampling.max_new_tokens,
            stop=base.sampling.stop,
            seed=seed,
            refine_rounds=self.plan.refine_rounds if refine else 0,
            refine_early_stop=False,
            limits=base.sandbox.limits(),
        )

    def start(self, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """The seed's starting weights and their held-out evaluation (cached in the workdir)."""
        import torch
        from rich.console import Console

        from crucible.evaluation.compose import load_policy, warm_start
        from crucible.evaluation.evaluate import evaluate
        from crucible.kernel.run_config import load_run_config

        folder = self.plan.workdir / f"seed-{seed}"
        cached = folder / "start.json"
        key = self.start_key(seed)
        found = _load_cached(cached, key)
        if found is not None and (folder / START_FILE).exists():
            return torch.load(folder / START_FILE, weights_only=True), found
        run = load_run_config(
            CONFIGS / START_CONFIG,
            [
                *self.plan.suite_overrides(),
                f"model.seed={seed}",
                f"trainer.seed={seed}",
                *self.plan.overrides_for("start"),
            ],
        )
        model, tokenizer = load_policy(run.model)
        began, threads = time.perf_counter(), torch.get_num_threads()
        torch.set_num_threads(self.plan.warm_start_threads() or threads)
        try:
            warm_start(run, model, tokenizer, self.train_tasks, Console(stderr=True))
        finally:
            torch.set_num_threads(threads)
        sft_s = time.perf_counter() - began
        self.log(f"seed {seed}: evaluating the starting model")
        result = evaluate(
            model, tokenizer, self.eval_tasks, self.sandbox, self.eval_settings(seed, refine=True)
        )
        state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(state, folder / START_FILE)
        model.save_pretrained(folder / START_MODEL)
        tokenizer.save_pretrained(folder / START_MODEL)
        summary = {
            **_scores(result.summary()),
            "task_pass@1": _task_pass_at_1(result.rows),
            "sft_s": round(sft_s, 1),
            "key": key,
        }
        cached.write_text(json.dumps(summary, indent=2))
        return state, summary

    def run(
        self, variant: Variant, seed: int, start_state: dict[str, Any], start: dict[str, Any]
    ) -> dict[str, Any]:
        """Train one variant from the seed's start under the budget; evaluate it (cached)."""
        from crucible.evaluation.compose import load_policy
        from crucible.evaluation.evaluate import evaluate
        from crucible.evaluation.problems import to_problems
        from crucible.kernel.loop import Trainer
        from crucible.kernel.plugin import OfflineMethod, OnlineMethod
        from crucible.kernel.registry import load_method
        from crucible.kernel.run_config import method_settings

        out = self.plan.workdir / f"seed-{seed}" / _slug(variant.label)
        cached = out / RUN_FILE
        parent = variant.ablation_of or variant.label
        key = _fingerprint(
            self.start_key(seed),
            variant.label,
            (CONFIGS / variant.config).read_text(),
            variant.overrides,
            self.plan.budget,
            self.plan.curve_points,
            *([overrides] if (overrides := self.plan.overrides_for(parent)) else []),
        )
        found = _load_cached(cached, key)
        if found is not None:
            self.reused += 1
            return found
        if out.exists():
            import shutil

            shutil.rmtree(out)  # an interrupted run starts over: its checkpoints are partial
        run = self._config(variant.config, seed, out, variant.overrides, parent)
        method_class = load_method(run.method_name)
        settings = method_settings(run, method_class.config_class, variant.config)
        offline = issubclass(method_class, OfflineMethod)
        if offline:
            per_problem = OFFLINE_COMPLETIONS_PER_PROBLEM[run.method_name](settings)
            tasks = max(1, min(len(self.train_tasks), self.plan.budget // per_problem))
            fit = [f"data.max_train_tasks={tasks}"]
        else:
            greedy = int(
                issubclass(method_class, OnlineMethod) and method_class.needs_greedy_baseline
            )
            per_step = run.trainer.batch_prompts * (run.sampling.n + greedy)
            pool = PREFILL_ROUNDS.get(run.method_name, lambda _: 0)(settings)
            steps = max(1, round(self.plan.budget / per_step) - pool)
            fit = [
                f"trainer.steps={steps}",
                f"trainer.eval_every={max(1, math.ceil(steps / self.plan.curve_points))}",
                f"trainer.checkpoint_every={steps}",
            ]
        run = self._config(variant.config, seed, out, [*variant.overrides, *fit], parent)
        train_tasks = self.train_tasks[: run.data.max_train_tasks or None]
        model, tokenizer = load_policy(run.model)
        model.load_state_dict(start_state)
        curve_settings = self.eval_settings(seed, refine=False)
        curve: list[list[float]] = [[0, float(start["pass@1"])]]
        ledger = _EvalLedger()
        began_usage, began = snapshot(), time.perf_counter()

        def held_out(step: int) -> dict[str, float]:
            before, t0 = snapshot(), time.perf_counter()
            trained = before.minus(began_usage).minus(ledger.usage)
            result = evaluate(model, tokenizer, self.eval_tasks, self.sandbox, curve_settings)
            ledger.add(snapshot().minus(before), time.perf_counter() - t0)
            curve.append([trained.completions, result.pass_at_k["pass@1"]])
            return {"eval_pass@1": result.pass_at_k["pass@1"]}

        trainer = Trainer(
            run,
            method_class,
            settings,
            to_problems(train_tasks),
            model,
            tokenizer,
            self.sandbox,
            evaluate=held_out,
            show_progress=False,
        )
        self.log(f"seed {seed}: {variant.label}")
        result = trainer.train()
        wall = time.perf_counter() - began - ledger.wall_s
        used = snapshot().minus(began_usage).minus(ledger.usage)
        final = evaluate(
            model, tokenizer, self.eval_tasks, self.sandbox, self.eval_settings(seed, refine=True)
        )
        scores = _scores(final.summary())
        if not curve or curve[-1][0] != used.completions:
            curve.append([used.completions, scores["pass@1"]])
        record = {
            "key": key,
            "variant": variant.label,
            "method": run.method_name,
            "ablation_of": variant.ablation_of,
            "seed": seed,
            "offline": offline,
            "overrides": [*variant.overrides, *fit],
            "steps": result.steps,
            "completions": used.completions,
            "generated_tokens": used.generated_tokens,
            "generation_s": round(used.generation_s, 2),
            "sandbox_s": round(used.sandbox_s, 2),
            "learning_s": round(max(0.0, wall - used.generation_s - used.sandbox_s), 2),
            "train_wall_s": round(wall, 2),
            "statuses": used.statuses,
            "activity": result.activity,
            "start": {k: start[k] for k in _SCORE_KEYS if k in start},
            "after": scores,
            "task_pass@1": _task_pass_at_1(final.rows),
            "curve": curve,
        }
        out.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(record, indent=2))
        return record


@dataclass
class _EvalLedger:
    """What the held-out evaluations inside a training run cost, to leave out of its budget."""

    usage: Usage = field(default_factory=Usage)
    wall_s: float = 0.0

    def add(self, usage: Usage, wall_s: float) -> None:
        self.usage = self.usage.plus(usage)
        self.wall_s += wall_s


_SCORE_KEYS = ("pass@1", "pass@5", "pass@1_round1", "pass@1_round2")


def _task_pass_at_1(rows: Sequence[dict[str, Any]]) -> list[float]:
    """Each held-out task's pass@1 (correct / n), in task order: the cells the bootstrap
    resamples."""
    return [row["correct"] / row["n"] for row in rows]


def _scores(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary[key] for key in (*_SCORE_KEYS, "statuses") if key in summary}


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _load_cached(path: Path, key: str) -> dict[str, Any] | None:
    """A finished result stored at ``path`` if it was made with ``key``."""
    if not path.exists():
        return None
    found = dict(json.loads(path.read_text()))
    return found if found.get("key") == key else None


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label).strip("-")


# ------------------------------------------------------------------------------ reports


def summarise(
    runs: Sequence[dict[str, Any]], starts: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per variant (and one for the start): means, spreads, deltas, costs, status mix."""
    rows: list[dict[str, Any]] = []
    seeds = sorted(starts)
    start_row: dict[str, Any] = {"variant": "start (SFT)", "seeds": len(seeds)}
    for key in _SCORE_KEYS:
        values = [float(starts[s][key]) for s in seeds if key in starts[s]]
        if values:
            start_row[key] = spread(values)
    start_cells = {s: starts[s]["task_pass@1"] for s in seeds}
    start_row["pass@1_ci"] = bootstrap_interval(list(start_cells.values()))
    rows.append(start_row)
    cells = {(r["variant"], r["seed"]): r["task_pass@1"] for r in runs}
    for label in dict.fromkeys(r["variant"] for r in runs):
        mine = sorted((r for r in runs if r["variant"] == label), key=lambda r: r["seed"])
        parent = mine[0]["ablation_of"]
        row: dict[str, Any] = {"variant": label, "ablation_of": parent, "seeds": len(mine)}
        for key in _SCORE_KEYS:
            values = [float(r["after"][key]) for r in mine if key in r["after"]]
            if values:
                row[key] = spread(values)
        deltas = [float(r["after"]["pass@1"]) - float(r["start"]["pass@1"]) for r in mine]
        row["delta_pass@1"] = spread(deltas)
        row["pass@1_ci"] = bootstrap_interval([cells[label, r["seed"]] for r in mine])
        row["delta_pass@1_ci"] = bootstrap_interval(
            [_minus(cells[label, r["seed"]], start_cells[r["seed"]]) for r in mine]
        )
        if parent is not None:
            row["method_minus_ablation_ci"] = bootstrap_interval(
                [_minus(cells[parent, r["seed"]], cells[label, r["seed"]]) for r in mine]
            )
        names = dict.fromkeys(name for r in mine for name in r.get("activity", {}))
        row["activity"] = {
            name: statistics.fmean(float(r["activity"].get(name, 0.0)) for r in mine)
            for name in names
        }
        row["seeds_improved"] = sum(1 for d in deltas if d > 0)
        row["beats_start"] = row["delta_pass@1_ci"][1] > 0
        for key in ("completions", "generated_tokens", "generation_s", "sandbox_s", "learning_s"):
            row[key] = statistics.fmean(float(r[key]) for r in mine)
        row["steps"] = statistics.fmean(float(r["steps"]) for r in mine)
        statuses: Counter[str] = Counter()
        for r in mine:
            statuses.update(r["statuses"])
        total = sum(statuses.values()) or 1
        row["status_mix"] = {k: round(v / total, 3) for k, v in statuses.most_common()}
        rows.append(row)
    by_variant = {row["variant"]: row for row in rows}
    for row in rows[1:]:
        parent = by_variant.get(row.get("ablation_of") or "")
        # An ablation switches a mechanism off, so some activity metric must differ from the
        # full method's; identical activity means the switch did nothing (a bug, not a result).
        row["activity_equals_method"] = bool(
            parent is not None and row["activity"] and row["activity"] == parent["activity"]
        )
    return rows


def _minus(first: Sequence[float], second: Sequence[float]) -> list[float]:
    """Task-by-task differences of two evaluations of the same held-out tasks."""
    if len(first) != len(second):
        raise ValueError(f"{len(first)} and {len(second)} tasks: not the same held-out split")
    return [a - b for a, b in zip(first, second, strict=True)]


def _interval(value: Any) -> str:
    """``mean [low, high]`` of a bootstrap triple; – when absent."""
    if value is None:
        return "–"
    mean, low, high = value
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def _cell(value: Any) -> str:
    if isinstance(value, tuple):
        return f"{value[0]:.3f} ± {value[1]:.3f}"
    return "–" if value is None else str(value)


_STATUS_SHORT = {
    "PASSED": "pass",
    "WRONG_ANSWER": "WA",
    "RUNTIME_ERROR": "RE",
    "COMPILE_ERROR": "CE",
    "TIME_LIMIT_EXCEEDED": "TLE",
    "MEMORY_LIMIT_EXCEEDED": "MLE",
    "OUTPUT_LIMIT_EXCEEDED": "OLE",
    "SANDBOX_ERROR": "SE",
}


def markdown(rows: Sequence[dict[str, Any]], plan: Plan, machine: str) -> str:
    """The results table (scores) and the cost table (seconds per run, status mix)."""
    head = (
        f"# Learning benchmark ({plan.stem})\n\n"
        f"Suite `{plan.suite}`, model `{plan.policy}`, seeds {list(plan.seeds)}, budget "
        f"{plan.budget} generated completions per run; held-out n={plan.eval_samples} at "
        f"T={plan.eval_temperature}, {plan.refine_rounds} refinement rounds (no early stop). "
        "Mean ± standard deviation over seeds; in brackets the 95 % bootstrap interval over "
        "held-out tasks and seeds (of pass@1 and of the paired differences). "
        f"Machine: {machine}. Produced by `crucible bench learning"
        f"{' --quick' if plan.smoke else ''}"
        f"{f' --suite {plan.suite}' if plan.suite != 'crucible-steps' else ''}` "
        "(protocol: `benchmarks/learning.py`).\n\n"
    )
    scores = [
        "| variant | pass@1 | pass@1 [95 % CI] | Δ vs start [95 % CI] | method − ablation "
        "[95 % CI] | seeds improved | pass@5 | pass@1 after 1 refine | after 2 refines |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        improved = row.get("seeds_improved")
        scores.append(
            "| "
            + " | ".join(
                [
                    row["variant"],
                    _cell(row.get("pass@1")),
                    _interval(row.get("pass@1_ci")),
                    _interval(row.get("delta_pass@1_ci")),
                    _interval(row.get("method_minus_ablation_ci")),
                    f"{improved}/{row['seeds']}" if improved is not None else "–",
                    _cell(row.get("pass@5")),
                    _cell(row.get("pass@1_round1")),
                    _cell(row.get("pass@1_round2")),
                ]
            )
            + " |"
        )
    costs = [
        "| variant | steps | completions | tokens | generation s | sandbox s | learning s | "
        "per step: gen / sandbox / learn s | training status mix |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows[1:]:
        mix = ", ".join(f"{_STATUS_SHORT.get(k, k)} {v:.0%}" for k, v in row["status_mix"].items())
        steps = max(row["steps"], 1.0)
        per_step = " / ".join(
            f"{row[key] / steps:.2f}" for key in ("generation_s", "sandbox_s", "learning_s")
        )
        costs.append(
            f"| {row['variant']} | {row['steps']:.0f} | {row['completions']:.0f} | "
            f"{row['generated_tokens']:.0f} | {row['generation_s']:.1f} | "
            f"{row['sandbox_s']:.1f} | {row['learning_s']:.1f} | {per_step} | {mix} |"
        )
    activity = [
        "| variant | mechanism activity (mean over the run's steps and seeds) |",
        "|---|---|",
    ]
    for row in rows[1:]:
        measured = ", ".join(f"`{k}` {v:.3f}" for k, v in row.get("activity", {}).items())
        if row.get("activity_equals_method"):
            measured += " — **the same as the full method's: the ablation switched nothing off**"
        activity.append(f"| {row['variant']} | {measured or '–'} |")
    return (
        head
        + "## Held-out scores\n\n"
        + "\n".join(scores)
        + "\n\n## Mechanism activity\n\n"
        + "Each method's own activity metrics (issue 15), averaged over its steps in each run "
        "(`summary.json`'s `activity`) and then over seeds; a metric reads 0 in a run whose "
        "mechanism is off.\n\n"
        + "\n".join(activity)
        + "\n\n## Cost per run (seconds, mean over seeds) and the training verdicts\n\n"
        + "Learning s = training wall time − generation − sandbox wait (held-out evaluations "
        "excluded). Offline methods' steps are the rows their trainer logs (optimiser steps "
        "for CodeDPO, epochs for CYCLE).\n\n" + "\n".join(costs) + "\n"
    )


ABLATION_STYLES = ("--", ":", "-.")


def plot(
    runs: Sequence[dict[str, Any]],
    starts: dict[int, dict[str, Any]],
    rows: Sequence[dict[str, Any]],
    path: Path,
) -> None:
    """Held-out pass@1 against generated completions, one line per variant (mean over seeds);
    ablations dashed or dotted in their method's colour. Each variant's last point carries the
    95 % bootstrap interval of its final pass@1 (``rows``: :func:`summarise`'s), and the start's
    interval is a grey band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    colours: dict[str, Any] = {}
    siblings: Counter[str] = Counter()
    start_mean = statistics.fmean(float(s["pass@1"]) for s in starts.values())
    axis.axhline(start_mean, color="grey", linewidth=0.8, linestyle=":", label="start (SFT)")
    intervals = {row["variant"]: row.get("pass@1_ci") for row in rows}
    start_ci = intervals.get("start (SFT)")
    if start_ci is not None:
        axis.axhspan(start_ci[1], start_ci[2], color="grey", alpha=0.15, linewidth=0)
    for label in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == label]
        length = min(len(r["curve"]) for r in mine)
        xs = [statistics.fmean(r["curve"][i][0] for r in mine) for i in range(length)]
        ys = [statistics.fmean(r["curve"][i][1] for r in mine) for i in range(length)]
        parent = mine[0]["ablation_of"]
        colour = colours.get(parent) if parent else None
        style = "-"
        if parent:
            siblings[parent] += 1
            style = ABLATION_STYLES[(siblings[parent] - 1) % len(ABLATION_STYLES)]
        (line,) = axis.plot(
            xs, ys, marker="o" if not parent else "s", linestyle=style, color=colour, label=label
        )
        colours.setdefault(label, line.get_color())
        interval = intervals.get(label)
        if interval is not None:
            mean, low, high = interval
            axis.errorbar(
                xs[-1],
                mean,
                yerr=[[mean - low], [high - mean]],
                color=line.get_color(),
                capsize=4,
                linewidth=1,
            )
    axis.set_xlabel("generated completions (training budget)")
    axis.set_ylabel("held-out pass@1")
    axis.set_title(
        "Learning under one budget (mean over seeds; offline methods: start and end only)\n"
        "bars: 95 % bootstrap interval of the final pass@1; grey band: the start's",
        fontsize=10,
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# ------------------------------------------------------------------------------ scheduling


@dataclass
class Outcome:
    """What the seeds' starts and the runs came to, in plan order."""

    starts: dict[int, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    reused: int = 0


def run_in_process(plan: Plan, variants: Sequence[Variant], log: Callable[[str], None]) -> Outcome:
    """Every start and run one after another, with one embedded sandbox."""
    from crucible.kernel.sandbox import SandboxHandle

    outcome = Outcome()
    with SandboxHandle(isolation="pooled") as sandbox:
        bench = Bench(plan, sandbox, log)
        for seed in plan.seeds:
            state, outcome.starts[seed] = bench.start(seed)
            for variant in variants:
                outcome.runs.append(bench.run(variant, seed, state, outcome.starts[seed]))
    outcome.reused = bench.reused
    return outcome


def run_in_parallel(plan: Plan, variants: Sequence[Variant], jobs: int) -> Outcome:
    """Starts and runs spread over ``jobs`` processes, each with its own pooled sandbox; a
    seed's runs are queued as soon as its start is stored in the workdir (where they read it).
    Results do not depend on the schedule: every run is seeded and starts from stored weights."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    outcome = Outcome()
    finished: dict[tuple[int, str], dict[str, Any]] = {}
    context = multiprocessing.get_context("spawn")  # torch and gRPC threads do not survive fork
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(plan.model_dump_json(),)
    ) as pool:
        pending: dict[Future[Any], tuple[int, str | None]] = {
            pool.submit(_worker_start, seed): (seed, None) for seed in plan.seeds
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                seed, label = pending.pop(future)
                if label is None:
                    outcome.starts[seed] = future.result()
                    for variant in sorted(variants, key=_queue_order):
                        pending[pool.submit(_worker_run, variant.label, seed)] = (
                            seed,
                            variant.label,
                        )
                else:
                    finished[seed, label], reused = future.result()
                    outcome.reused += reused
    outcome.runs = [finished[seed, v.label] for seed in plan.seeds for v in variants]
    outcome.starts = {seed: outcome.starts[seed] for seed in plan.seeds}
    return outcome


# CYCLE's runs are the longest by far (its Phase II fine-tunes on long refinement examples:
# the cost tables of benchmarks/results/learning*.md), so a seed queues them first: a pool
# that ends on one long run leaves the other cores idle meanwhile.
LONGEST_FIRST = ("cycle.yaml",)


def _queue_order(variant: Variant) -> bool:
    return variant.config not in LONGEST_FIRST


_WORKER: list[Bench] = []  # the worker process's bench (run_in_parallel's pool)


def _start_worker(plan_json: str) -> None:
    """A pool process: its torch threads, its own pooled sandbox (closed when it exits) and
    bench."""
    import sys
    from multiprocessing.util import Finalize

    from crucible.kernel.sandbox import SandboxHandle

    plan = Plan.model_validate_json(plan_json)
    plan.pin_threads()
    sandbox = SandboxHandle(isolation="pooled")
    Finalize(sandbox, sandbox.close, exitpriority=10)
    _WORKER.append(Bench(plan, sandbox, lambda line: print(line, file=sys.stderr, flush=True)))


def _worker_start(seed: int) -> dict[str, Any]:
    return _WORKER[0].start(seed)[1]


def _worker_run(label: str, seed: int) -> tuple[dict[str, Any], int]:
    bench = _WORKER[0]
    variant = next(v for v in (*METHODS, *ABLATIONS) if v.label == label)
    reused = bench.reused
    state, start = bench.start(seed)  # stored by the seed's start job
    return bench.run(variant, seed, state, start), bench.reused - reused


def _cpu_seconds() -> float:
    """CPU time of this process and of every finished descendant it waited for."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_benchmark(plan: Plan, log: Callable[[str], None]) -> dict[str, Any]:
    """Run (or resume) the plan; write the json, md and png; return the report."""
    variants = plan.variants()
    plan.pin_threads()
    began, began_cpu = time.perf_counter(), _cpu_seconds()
    jobs = plan.parallel_jobs(len(plan.seeds) * len(variants))
    if jobs == 1:
        outcome = run_in_process(plan, variants, log)
    else:
        log(f"{len(plan.seeds) * len(variants)} runs, {jobs} at a time")
        outcome = run_in_parallel(plan, variants, jobs)
    runs, starts = outcome.runs, outcome.starts
    train_tasks, eval_tasks = splits(plan)
    rows = summarise(runs, starts)
    machine = machine_description()
    report = {
        "plan": json.loads(plan.model_dump_json()),
        "machine": machine,
        "jobs": jobs,
        "wall_s": round(time.perf_counter() - began, 1),
        "cpu_s": round(_cpu_seconds() - began_cpu, 1),
        "runs_reused": outcome.reused,
        "train_tasks": len(train_tasks),
        "eval_tasks": len(eval_tasks),
        "starts": {str(seed): start for seed, start in starts.items()},
        "rows": rows,
        "runs": runs,
    }
    plan.results_dir.mkdir(parents=True, exist_ok=True)
    stem = plan.results_dir / plan.stem
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
    stem.with_suffix(".md").write_text(markdown(rows, plan, machine))
    plot(runs, starts, rows, stem.with_suffix(".png"))
    return report
