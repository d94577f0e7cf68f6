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

pytest.importorskip("torch", reason="needs the train extra")


from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.evaluate import EvalSettings, evaluate
from crucible.evaluation.problems import to_problems
from crucible.evaluation.refine import BAD_SOLUTION, refine_prompt
from crucible.evaluation.tasks import Task
from crucible.kernel.config import ModelConfig
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import Problem, validate_plugin
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import load_run_config, method_settings
from crucible.kernel.sampler import format_prompt
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import encode_pair
from crucible.methods.cycle import Cycle
from crucible.methods.cycle.config import CycleConfig
from crucible.methods.cycle.data import (
    Example,
    mix,
    model_input,
    nearest_solution,
    past_generation_tokens,
    pgm_mask,
    refine_share,
    refinement_examples,
)
from crucible.methods.cycle.plugin import task_of
from crucible.sandbox_service.models import (
    AssertTest,
    ExecuteResponse,
    Limits,
    Status,
    TestCase,
)

pytestmark = pytest.mark.train

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


def test_bm25_chooses_among_all_references_of_a_task_where_random_does_not(
    sandbox: SandboxHandle,
) -> None:
    """A task with three references of different shapes; a real failing sample shaped like the
    second: BM25's target is that reference (not the canonical one), the random ablation's
    target varies over seeds."""
    prompt = "def total(xs):\n"
    loop = "    result = 0\n    for x in xs:\n        result += x\n    return result\n"
    builtin = "    return sum(xs)\n"
    fold = "    import functools\n    return functools.reduce(lambda a, b: a + b, xs, 0)\n"
    task = Task(
        task_id="test/total",
        source="test",
        split="train",
        prompt=prompt,
        layout="prompt_plus_completion",
        entry_point="total",
        canonical_solution=prompt + loop,
        references=[prompt + builtin, prompt + fold],
        tests=[TestCase(body=AssertTest(code="assert total([1, 2]) == 3"))],
    )
    faulty = "    return sum(xs) - 1\n"
    (verdict,) = _verdicts(sandbox, task, [faulty])
    assert verdict.status is Status.WRONG_ANSWER

    def target(how: Any, seed: int) -> str:
        (example,) = refinement_examples(
            task, [(faulty, verdict)], target=how, keep_passing=True, rng=random.Random(seed)
        )
        return example.target

    assert {target("bm25", seed) for seed in range(10)} == {builtin}
    assert {target("random", seed) for seed in range(30)} == {loop, builtin, fold}


def _examples(kind: Any, count: int) -> list[Example]:
    return [Example(f"p{i}", f"t{i}", kind, f"id{i}") for i in range(count)]


def test_mixing_gives_refinement_examples_their_share_of_the_mix() -> None:
    refine, phase1 = _examples("refine", 6), _examples("phase1", 10)
    mixed = mix(refine, phase1, 0.5, random.Random(0))
    assert mixed[:6] == refine
    assert len(mixed) == 12 and len(set(mixed[6:])) == 6 and set(mixed[6:]) <= set(phase1)
    assert refine_share(mixed) == 0.5
    # passing samples are code-generation examples: they fill the mix before Phase I data
    passing = _examples("passing", 4)
    with_passes = mix([*refine, *passing], phase1, 0.5, random.Random(0))
    assert with_passes[6:10] == passing and len(with_passes) == 12
    assert refine_share(with_passes) == 0.5
    many = mix([*_examples("refine", 2), *_examples("passing", 8)], phase1, 0.5, random.Random(0))
    assert refine_share(many) == 0.5 and len(many) == 4  # passing samples drawn down to 2
    quarter = mix(_examples("refine", 4), _examples("phase1", 5), 0.25, random.Random(0))
    drawn = [e for e in quarter if e.kind == "phase1"]
    assert len(drawn) == 12  # 4 refine = 25 %: two whole passes over Phase I, then 2 more
    assert all(drawn.count(e) >= 2 for e in _examples("phase1", 5))
    assert refine_share(quarter) == 0.25
    assert mix(refine, phase1, 1.0, random.Random(0)) == refine
    assert mix(refine, [], 0.5, random.Random(0)) == refine
    assert refine_share([]) == 0.0
    with pytest.raises(ValueError, match=r"mix ratio must be in \(0, 1\]"):
        mix(refine, phase1, 0.0, random.Random(0))


def test_the_no_refine_data_ablation_keeps_the_mix_size_with_code_generation_only() -> None:
    refine, passing, phase1 = (
        _examples("refine", 6),
        _examples("passing", 4),
        _examples("phase1", 10),
    )
    full = mix([*refine, *passing], phase1, 0.5, random.Random(0))
    ablated = mix([*refine, *passing], phase1, 0.5, random.Random(0), refine_data=False)
    assert len(ablated) == len(full) == 12 and refine_share(ablated) == 0.0
    assert ablated[:4] == passing  # its own passing samples first, then Phase I data
    assert len(set(ablated[4:])) == 8 and set(ablated[4:]) <= set(phase1)


# ------------------------------------------------------------------- past-generation masking


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return load_model(ModelConfig(name_or_path="tiny", device="cpu"))[1]


def _masked_text(tokenizer: Any, example: Example) -> tuple[list[int], str]:
    """The positions PGM may hide in a refinement example's prompt, and their text."""
    positions = past_generation_tokens(tokenizer, example.prompt, example.past_generation)
    offsets = tokenizer(example.prompt, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    return positions, "".join(example.prompt[slice(*offsets[t])] for t in positions)


def test_pgm_may_hide_exactly_the_past_generation(
    sandbox: SandboxHandle, add_1: Task, tokenizer: Any
) -> None:
    """On a real refine prompt: the maskable tokens are the commented-out failing completion,
    contiguous, and none of the description, the commented signature and docstring, the
    execution feedback or the cue."""
    completion = "    y = x - 1\n    return y\n"
    (verdict,) = _verdicts(sandbox, add_1, [completion])
    (example,) = refinement_examples(
        add_1, [(completion, verdict)], target="bm25", keep_passing=True, rng=random.Random(0)
    )
    commented = "#     y = x - 1\n#     return y"
    assert example.past_generation is not None
    assert example.prompt[slice(*example.past_generation)] == commented
    positions, text = _masked_text(tokenizer, example)
    assert positions == list(range(positions[0], positions[-1] + 1))
    assert commented.endswith(text) and len(commented) - len(text) <= 2  # "# " may join "\n"
    before, after = (
        example.prompt[: example.past_generation[0]],
        example.prompt[example.past_generation[1] :],
    )
    assert "def add_1(x: int) -> int:" in before and "Expected output: 1" in after
    ids, labels = encode_pair(tokenizer, example.prompt, example.target)
    everything = pgm_mask(len(ids), positions, 1.0, random.Random(0))
    assert [t for t, bit in enumerate(everything) if bit == 0] == positions
    assert all(labels[t] == -100 for t in positions)  # never a target token
    assert past_generation_tokens(tokenizer, "def f(x):\n", None) == []


@pytest.mark.parametrize("chat", [False, True])
def test_training_sees_the_refine_prompt_exactly_as_the_inference_loop_sends_it(
    sandbox: SandboxHandle, add_1: Task, tokenizer: Any, chat: bool
) -> None:
    """Phase II trains on the text the refine loop samples from (one refine_prompt, one
    format_prompt: BOS or chat template included), and PGM's span moves with it."""
    completion = "    return x - 1\n"
    (verdict,) = _verdicts(sandbox, add_1, [completion])
    (example,) = refinement_examples(
        add_1, [(completion, verdict)], target="bm25", keep_passing=True, rng=random.Random(0)
    )
    text, chars = model_input(tokenizer, example, chat)
    assert text == format_prompt(tokenizer, refine_prompt(add_1, completion, verdict).text, chat)
    assert text != example.prompt  # the tiny tokenizer adds BOS; the chat template wraps it
    assert chars is not None and text[slice(*chars)] == "#     return x - 1"
    passing = Example(add_1.prompt, completion, "passing", add_1.task_id)
    assert model_input(tokenizer, passing, chat) == (
        format_prompt(tokenizer, add_1.prompt, chat),
        None,
    )


def test_pgm_masks_at_rate_p_afresh_on_every_call() -> None:
    positions = list(range(10, 110))
    rng = random.Random(0)
    draws = [pgm_mask(150, positions, 0.05, rng) for _ in range(400)]
    assert all(len(mask) == 150 for mask in draws)
    outside = [t for t in range(150) if t not in positions]
    assert all(mask[t] == 1 for mask in draws for t in outside)
    hidden = sum(mask[t] == 0 for mask in draws for t in positions)
    trials = 400 * len(positions)
    sigma = (0.05 * 0.95 / trials) ** 0.5
    assert abs(hidden / trials - 0.05) < 4 * sigma, hidden / trials
    assert len({tuple(mask) for mask in draws}) > 300  # drawn afresh on every call
    assert pgm_mask(150, positions, 0.0, rng) == [1] * 150
    assert pgm_mask(5, [], 1.0, rng) == [1] * 5


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
    overrides = [
        "sampling.max_new_tokens=12",
        "method.phase1_epochs=2",
        "method.phase2_epochs=1",
        "method.samples_per_problem=2",
        "method.mix_ratio=0.25",
        "method.pgm_rate=0.5",
    ]
    config = load_run_config("configs/cycle.yaml", [f"trainer.output_dir={tmp_path}", *overrides])
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
    assert kinds.count("refine") == rows[2]["data/refine_examples"] > 0
    assert kinds.count("phase1") == rows[2]["data/phase1_examples"]
    # the mix is what the config says: a quarter refinement, three quarters code generation
    assert kinds.count("refine") / len(kinds) == rows[2]["refine_share"] == 0.25
    assert all(BAD_SOLUTION in row["prompt"] for row in data if row["kind"] == "refine")
    # half of the past generation's tokens hidden: some, never all, of the prompt tokens
    assert 0.0 < rows[2]["pgm_masked_token_fraction"] < 0.5
    assert set(result.activity) == {"refine_share", "pgm_masked_token_fraction"}
    assert result.steps == 3 and (tmp_path / "checkpoints" / "step-000003").is_dir()

    # the 'no refine data' ablation: the same sampling, a mix of the same size, no refinement
    ablated = load_run_config(
        "configs/cycle.yaml",
        [*overrides, f"trainer.output_dir={tmp_path / 'ablated'}", "method.refine_data=false"],
    )
    model, tokenizer = load_model(ablated.model)
    rows = (
        Trainer(
            ablated,
            Cycle,
            method_settings(ablated, CycleConfig, "test"),
            problems,
            model,
            tokenizer,
            sandbox,
            show_progress=False,
        )
        .train()
        .history
    )
    kinds = [
        json.loads(line)["kind"]
        for line in (tmp_path / "ablated" / "cycle_data.jsonl").read_text().splitlines()
    ]
    assert len(kinds) == len(data) and "refine" not in kinds
    assert rows[2]["refine_share"] == 0.0 and rows[2]["pgm_masked_token_fraction"] == 0.0


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
    assert set(summary["activity"]) == {"refine_share", "pgm_masked_token_fraction"}
    assert "pass@1" in summary["before"] and "pass@1" in summary["after"]
    assert (tmp_path / "cycle_data.jsonl").exists()
