"""CYCLE: the refinement template on a real failing verdict (bytes-exact against a fixture), BM25
targets, the data mix, past-generation masking, the refine loop's early stop, and runs through
the kernel's Trainer and the command line on the tiny model with the embedded sandbox."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.evaluate import EvalSettings, evaluate
from crucible.evaluation.problems import to_problems
from crucible.evaluation.refine import BAD_SOLUTION
from crucible.evaluation.tasks import Task
from crucible.kernel.config import ModelConfig
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import Problem, validate_plugin
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import load_run_config, method_settings
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import encode_pair
from crucible.methods.cycle import Cycle
from crucible.methods.cycle.config import CycleConfig
from crucible.methods.cycle.data import (
    Example,
    mix,
    nearest_solution,
    past_generation_span,
    pgm_mask,
    refinement_examples,
)
from crucible.methods.cycle.plugin import task_of
from crucible.sandbox_service.models import ExecuteResponse, Limits, Status

FIXTURES = Path(__file__).parent / "fixtures"
LIMITS = Limits(cpu_time_limit_ms=2000, memory_limit_bytes=256 << 20)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


@pytest.fixture(scope="module")
def add_1() -> Task:
    return next(t for t in load_dataset("crucible-basic", "train") if t.task_id.endswith("/add_1"))


def _verdicts(sandbox: SandboxHandle, task: Task, completions: list[str]) -> list[ExecuteResponse]:
    return sandbox.execute([task.to_request(c, limits=LIMITS) for c in completions])


# ------------------------------------------------------------------------------ Phase II data


def test_a_failing_sample_becomes_the_exact_refinement_template(
    sandbox: SandboxHandle, add_1: Task
) -> None:
    (verdict,) = _verdicts(sandbox, add_1, ["    return x - 1\n"])
    assert verdict.status is Status.WRONG_ANSWER
    (example,) = refinement_examples(
        add_1,
        [("    return x - 1\n", verdict)],
        target="bm25",
        keep_passing=True,
        feedback_max_chars=300,
        rng=random.Random(0),
    )
    expected = (FIXTURES / "cycle_refine_prompt.txt").read_bytes()
    assert example.prompt.encode() == expected
    assert example.target == add_1.canonical_completion == "    return x + 1\n"
    assert example.kind == "refine"


def test_passes_stay_as_own_code_and_other_failures_carry_their_feedback(
    sandbox: SandboxHandle, add_1: Task
) -> None:
    completions = ["    return 1 + x\n", "    return x / 0\n", "    return x +\n"]
    verdicts = _verdicts(sandbox, add_1, completions)
    assert [v.status for v in verdicts] == [
        Status.PASSED,
        Status.RUNTIME_ERROR,
        Status.COMPILE_ERROR,
    ]
    broken = verdicts[0].model_copy(update={"status": Status.SANDBOX_ERROR})
    attempts = [*zip(completions, verdicts, strict=True), ("    return x\n", broken)]
    examples = refinement_examples(
        add_1,
        attempts,
        target="bm25",
        keep_passing=True,
        feedback_max_chars=300,
        rng=random.Random(0),
    )
    assert [e.kind for e in examples] == ["passing", "refine", "refine"]  # sandbox error: none
    assert examples[0] == Example(add_1.prompt, "    return 1 + x\n", "passing", add_1.task_id)
    assert "# Test Case Failed: Input: add_1(0), Expected output: 1, Error: ZeroDivisionError" in (
        examples[1].prompt
    )
    assert "Error: SyntaxError" in examples[2].prompt
    without_passes = refinement_examples(
        add_1,
        attempts,
        target="bm25",
        keep_passing=False,
        feedback_max_chars=300,
        rng=random.Random(0),
    )
    assert [e.kind for e in without_passes] == ["refine", "refine"]
    no_solution = add_1.model_copy(update={"canonical_solution": None})
    assert [
        e.kind
        for e in refinement_examples(
            no_solution,
            attempts,
            target="bm25",
            keep_passing=True,
            feedback_max_chars=300,
            rng=random.Random(0),
        )
    ] == ["passing"]


def test_bm25_picks_the_most_similar_solution_and_random_any() -> None:
    candidates = [
        "    total = 0\n    for item in items:\n        total += item\n    return total\n",
        "    return sorted(items)[::-1]\n",
        "    return max(items) - min(items)\n",
    ]
    faulty = "    return sorted(items)\n"
    assert nearest_solution(faulty, candidates, "bm25", random.Random(0)) == candidates[1]
    loop = "    total = 1\n    for item in items:\n        total *= item\n"
    assert nearest_solution(loop, candidates, "bm25", random.Random(0)) == candidates[0]
    picked = {nearest_solution(faulty, candidates, "random", random.Random(s)) for s in range(30)}
    assert picked == set(candidates)
    assert nearest_solution(faulty, candidates[:1], "bm25", random.Random(0)) == candidates[0]
    with pytest.raises(ValueError, match="no candidate"):
        nearest_solution(faulty, [], "bm25", random.Random(0))


def _examples(kind: Any, count: int) -> list[Example]:
    return [Example(f"p{i}", f"t{i}", kind, f"id{i}") for i in range(count)]


def test_mixing_gives_refinement_data_its_share() -> None:
    refine, phase1 = _examples("refine", 6), _examples("phase1", 10)
    mixed = mix(refine, phase1, 0.5, random.Random(0))
    assert mixed[:6] == refine
    assert len(mixed) == 12 and len(set(mixed[6:])) == 6 and set(mixed[6:]) <= set(phase1)
    quarter = mix(_examples("refine", 4), _examples("phase1", 5), 0.25, random.Random(0))
    drawn = [e for e in quarter if e.kind == "phase1"]
    assert len(drawn) == 12  # 4 refine = 25 %: two whole passes over Phase I, then 2 more
    assert all(drawn.count(e) >= 2 for e in _examples("phase1", 5))
    assert mix(refine, phase1, 1.0, random.Random(0)) == refine
    assert mix(refine, [], 0.5, random.Random(0)) == refine
    with pytest.raises(ValueError, match=r"mix ratio must be in \(0, 1\]"):
        mix(refine, phase1, 0.0, random.Random(0))


# ------------------------------------------------------------------- past-generation masking


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return load_model(ModelConfig(name_or_path="tiny", device="cpu"))[1]


def test_the_masked_span_starts_at_the_bad_solution_marker(tokenizer: Any) -> None:
    prompt = (FIXTURES / "cycle_refine_prompt.txt").read_text()
    span = past_generation_span(tokenizer, prompt)
    assert span is not None
    start, end = span
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert end == len(ids)
    description = prompt[: prompt.index(BAD_SOLUTION)]
    assert tokenizer.decode(ids[:start]) == description
    assert tokenizer.decode(ids[start:]).startswith(BAD_SOLUTION)
    assert past_generation_span(tokenizer, "def f(x):\n") is None


def test_pgm_masks_only_the_span_at_rate_p(tokenizer: Any) -> None:
    prompt = (FIXTURES / "cycle_refine_prompt.txt").read_text()
    ids, labels = encode_pair(tokenizer, prompt, "    return x + 1\n")
    span = past_generation_span(tokenizer, prompt)
    assert span is not None
    start, end = span
    assert end == sum(1 for label in labels if label == -100)  # the span ends with the prompt
    rng = random.Random(0)
    draws = [pgm_mask(len(ids), span, 0.05, rng) for _ in range(400)]
    assert all(len(mask) == len(ids) for mask in draws)
    assert all(all(mask[:start]) for mask in draws)  # the description: never
    assert all(all(mask[end:]) for mask in draws)  # the target: never
    hidden = sum(mask[t] == 0 for mask in draws for t in range(start, end))
    trials = 400 * (end - start)
    rate = hidden / trials
    sigma = (0.05 * 0.95 / trials) ** 0.5
    assert abs(rate - 0.05) < 4 * sigma, (rate, trials)
    assert len({tuple(mask) for mask in draws}) > 300  # drawn afresh on every call
    assert pgm_mask(len(ids), span, 0.0, rng) == [1] * len(ids)
    assert pgm_mask(len(ids), span, 1.0, rng) == [1] * start + [0] * (end - start) + [1] * (
        len(ids) - end
    )
    assert pgm_mask(5, None, 1.0, rng) == [1] * 5


# -------------------------------------------------------------------------- inference loop


@pytest.mark.slow  # ~10 s: sampling and executing three refinement rounds
def test_the_refine_loop_stops_when_pass_at_1_stops_improving(sandbox: SandboxHandle) -> None:
    model, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    tasks = load_dataset("crucible-basic", "test")[:3]
    settings = EvalSettings(n=2, ks=(1,), max_new_tokens=12, temperature=0.2, refine_rounds=3)
    stopped = evaluate(model, tokenizer, tasks, sandbox, settings)
    # a model from scratch passes nothing and its first refinement raises nothing: it stops
    assert stopped.refine_pass_at_1 == [0.0, 0.0]
    settings.refine_early_stop = False
    assert evaluate(model, tokenizer, tasks, sandbox, settings).refine_pass_at_1 == [0.0] * 4


# ---------------------------------------------------------------------------------- config


def test_every_setting_has_a_description_and_the_documented_defaults() -> None:
    for name, field in CycleConfig.model_fields.items():
        assert field.description, f"CycleConfig.{name} has no description"
    config = CycleConfig()
    assert (config.lr, config.weight_decay, config.phase1_epochs, config.phase2_epochs) == (
        5e-5,
        0.1,
        3,
        3,
    )
    assert (config.pgm_rate, config.mix_ratio, config.target) == (0.05, 0.5, "bm25")
    readme = (Path(__file__).parents[2] / "methods" / "cycle" / "README.md").read_text()
    for name in CycleConfig.model_fields:
        assert f"`{name}`" in readme, f"README does not document {name}"


@pytest.mark.parametrize(
    "section", [{"pgm_rate": 1.5}, {"mix_ratio": 0.0}, {"target": "tfidf"}, {"epochs": 3}]
)
def test_bad_settings_are_rejected(section: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        CycleConfig.model_validate(section)


def test_the_plugin_is_registered_and_needs_evaluation_tasks(add_1: Task) -> None:
    assert load_method("cycle") is Cycle
    assert validate_plugin(Cycle, "test") is Cycle
    assert task_of(to_problems([add_1])[0]) is add_1
    bare = Problem(problem_id="x", prompt="p", tests=add_1.tests)
    with pytest.raises(ValueError, match="carries no evaluation task"):
        task_of(bare)


# ------------------------------------------------------------------------------ end to end


@pytest.mark.slow  # ~10 s: two short fine-tunings, sampling and the sandbox
def test_a_run_fine_tunes_both_phases_and_writes_the_refinement_data(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    config = load_run_config(
        "configs/cycle.yaml",
        [
            f"trainer.output_dir={tmp_path}",
            "sampling.max_new_tokens=12",
            "method.phase1_epochs=2",
            "method.phase2_epochs=1",
            "method.samples_per_problem=2",
        ],
    )
    settings = method_settings(config, CycleConfig, "test")
    problems = to_problems(load_dataset("crucible-basic", "train")[:4])
    model, tokenizer = load_model(config.model)
    result = Trainer(
        config, Cycle, settings, problems, model, tokenizer, sandbox, show_progress=False
    ).train()
    rows = result.history
    assert [(row["phase"], row["epoch"]) for row in rows] == [(1.0, 1.0), (1.0, 2.0), (2.0, 1.0)]
    assert rows[2]["data/samples"] == 8
    data = [json.loads(line) for line in (tmp_path / "cycle_data.jsonl").read_text().splitlines()]
    kinds = [row["kind"] for row in data]
    collected = kinds.count("refine") + kinds.count("passing")
    assert collected == rows[2]["data/refine_examples"] + rows[2]["data/passing_examples"]
    assert kinds.count("phase1") == rows[2]["data/phase1_examples"] == collected  # 50 / 50
    assert all(BAD_SOLUTION in row["prompt"] for row in data if row["kind"] == "refine")
    assert result.steps == 3 and (tmp_path / "checkpoints" / "step-000003").is_dir()


@pytest.mark.slow  # ~30 s: the command as a user runs it, evaluations with refinement included
def test_crucible_train_runs_cycle_with_its_config(tmp_path: Path) -> None:
    settings = [
        "data.max_train_tasks=3",
        "data.max_eval_tasks=2",
        "data.eval_samples=1",
        "data.eval_k=[1]",
        "data.eval_refine_rounds=2",
        "sampling.max_new_tokens=12",
        "method.phase1_epochs=1",
        "method.phase2_epochs=1",
        "method.samples_per_problem=1",
    ]
    args = [str(Path(sys.executable).with_name("crucible")), "train", "--method", "cycle"]
    args += ["--config", "configs/cycle.yaml", "--output-dir", str(tmp_path), "--json"]
    for setting in settings:
        args += ["--set", setting]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["method"] == "cycle" and summary["steps"] == 2
    assert "pass@1" in summary["before"] and "pass@1" in summary["after"]
    assert (tmp_path / "cycle_data.jsonl").exists()
