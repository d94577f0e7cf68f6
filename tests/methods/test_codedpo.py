"""CodeDPO: self-verification on hand-made pass matrices, pair selection, the efficiency noise
threshold on real timed programs, the pairs file, trl's DPO loss against a hand computation,
and a run through the kernel's Trainer on the tiny model with the embedded sandbox."""

from __future__ import annotations

import doctest
import json
import math
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch
from datasets import Dataset
from typer.testing import CliRunner

import crucible.methods.codedpo.verify as verify_module
from crucible.cli.main import app
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.config import ModelConfig, SamplingConfig
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import Problem, validate_plugin
from crucible.kernel.policy import completion_logprobs
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import load_run_config, method_settings
from crucible.kernel.sampler import Sampler, format_prompt
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import fine_tune
from crucible.methods.codedpo import CodeDPO
from crucible.methods.codedpo.build import (
    TimingJob,
    example_tests,
    matrix_request,
    pass_row,
    prompt_for_tests,
    time_jobs,
    usable_tests,
)
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.methods.codedpo.pairs import (
    PreferencePair,
    as_completion,
    as_prompt,
    read_pairs,
    write_pairs,
)
from crucible.methods.codedpo.train import dpo_trainer, tokenize_pair
from crucible.methods.codedpo.verify import (
    all_tests_trusted_pair,
    correctness_pair,
    efficiency_candidates,
    efficiency_pair,
    normalise,
    pass_counts,
    random_pair,
    rank_codes,
    self_verification_scores,
)
from crucible.sandbox_service.models import Limits, Status

pytestmark = pytest.mark.train

T, F = True, False

# --------------------------------------------------------------------------- self-verification


def test_one_iteration_matches_a_hand_computation() -> None:
    passes = [[T, T, F], [T, F, F], [F, F, T]]
    codes, tests = self_verification_scores(
        passes, iterations=1, damping=0.85, normalization="mean"
    )
    # codes: 0.15 * 1 + 0.85 * (tests passed, each test scoring 1) -> [1.85, 1.0, 1.0], / mean
    raw_codes = [0.15 + 0.85 * 2, 0.15 + 0.85 * 1, 0.15 + 0.85 * 1]
    c = [value / (sum(raw_codes) / 3) for value in raw_codes]
    # tests: 0.15 * 1 + 0.85 * (sum of the new scores of the codes passing it), / mean
    raw_tests = [0.15 + 0.85 * (c[0] + c[1]), 0.15 + 0.85 * c[0], 0.15 + 0.85 * c[2]]
    t = [value / (sum(raw_tests) / 3) for value in raw_tests]
    assert codes == pytest.approx(c)
    assert tests == pytest.approx(t)
    assert c == pytest.approx([1.4415584, 0.7792208, 0.7792208])


def test_a_test_passed_by_good_codes_outranks_one_passed_only_by_bad_codes() -> None:
    # codes 0, 1 pass tests 0-2; codes 2, 3 pass only test 3: tests 0 and 3 are each passed by
    # two codes, so counting passes cannot tell them apart; self-verification can.
    passes = [[T, T, T, F], [T, T, T, F], [F, F, F, T], [F, F, F, T]]
    codes, tests = self_verification_scores(
        passes, iterations=20, damping=0.85, normalization="mean"
    )
    assert tests[0] > tests[3]
    assert min(codes[0], codes[1]) > max(codes[2], codes[3])
    assert sum(row[0] for row in passes) == sum(row[3] for row in passes)


def test_scores_converge() -> None:
    rng = random.Random(7)
    passes = [[rng.random() < 0.5 for _ in range(6)] for _ in range(8)]
    for normalization in ("mean", "max", "l2"):
        settled = self_verification_scores(
            passes, iterations=200, damping=0.85, normalization=normalization
        )
        further = self_verification_scores(
            passes, iterations=201, damping=0.85, normalization=normalization
        )
        assert settled[0] == pytest.approx(further[0], abs=1e-9)
        assert settled[1] == pytest.approx(further[1], abs=1e-9)


def test_damping_weighs_the_previous_score_against_the_propagated_one() -> None:
    passes = [[T, F], [F, F]]
    # d = 0: nothing propagates; every score stays 1
    assert self_verification_scores(passes, iterations=5, damping=0.0, normalization="mean") == (
        [1.0, 1.0],
        [1.0, 1.0],
    )
    # d = 0.5, max-normalised: codes [0.5 + 0.5, 0.5] -> [1, 0.5]; tests [0.5 + 0.5, 0.5]
    codes, tests = self_verification_scores(passes, iterations=1, damping=0.5, normalization="max")
    assert codes == [1.0, 0.5]
    assert tests == [1.0, 0.5]
    # a code passing nothing keeps only (1 - d)^K of its score, relative to the top code
    codes, _ = self_verification_scores(passes, iterations=3, damping=0.5, normalization="max")
    assert codes[1] == pytest.approx(0.5**3)


def test_each_normalisation_fixes_its_own_scale() -> None:
    passes = [[T, T, F], [T, F, F], [F, F, T], [T, T, T]]
    for how, measure in (
        ("mean", lambda v: sum(v) / len(v)),
        ("max", max),
        ("l2", lambda v: math.sqrt(sum(x * x for x in v))),
    ):
        codes, tests = self_verification_scores(
            passes, iterations=4, damping=0.85, normalization=how
        )
        assert measure(codes) == pytest.approx(1.0)
        assert measure(tests) == pytest.approx(1.0)
    assert normalise([0.0, 0.0], "max") == [0.0, 0.0]


def test_a_ragged_matrix_is_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        self_verification_scores([[T, F], [T]], iterations=1, damping=0.85, normalization="max")


def test_the_pure_functions_examples_run() -> None:
    result = doctest.testmod(verify_module)
    assert result.attempted >= 6 and result.failed == 0


# ------------------------------------------------------------------------------ pair selection


def test_correctness_pair_is_the_top_and_the_lowest_code_with_different_text() -> None:
    assert correctness_pair([3.0, 1.0, 0.5, 0.8], ["a", "b", "c", "d"], min_gap=0.1) == (0, 2)
    # the lowest is a copy of the chosen text: the lowest with different text is rejected
    assert correctness_pair([3.0, 1.0, 0.1, 0.8], ["a", "b", "a", "c"], min_gap=0.1) == (0, 3)
    # ties: the first index wins on both sides
    assert correctness_pair([2.0, 1.0, 2.0, 1.0], ["a", "b", "c", "d"], min_gap=0.1) == (0, 1)


def test_no_correctness_pair_below_the_gap_or_between_equal_scores() -> None:
    assert correctness_pair([1.0, 0.95], ["a", "b"], min_gap=0.1) is None
    assert correctness_pair([1.0, 0.85], ["a", "b"], min_gap=0.1) == (0, 1)
    assert correctness_pair([1.0, 1.0], ["a", "b"], min_gap=0.0) is None
    assert correctness_pair([2.0, 1.0], ["a", "a"], min_gap=0.0) is None
    assert correctness_pair([], [], min_gap=0.0) is None


def test_the_ablations_rank_by_pass_count_all_tests_or_at_random() -> None:
    passes = [[T, T, F], [T, T, T], [F, F, F], [T, F, T]]
    codes = ["w", "x", "y", "z"]
    assert pass_counts(passes) == [2.0, 3.0, 0.0, 2.0]
    rng = random.Random(0)
    ranked = rank_codes(
        passes,
        codes,
        ranking="pass_count",
        iterations=1,
        damping=0.85,
        normalization="mean",
        min_gap=0.1,
        rng=rng,
    )
    assert ranked.pair == (1, 2)
    assert ranked.trusted == [0, 1, 2]
    # all tests trusted: only code 1 passes every test; the rejected one fails at least one
    for seed in range(10):
        chosen, rejected = all_tests_trusted_pair(passes, codes, random.Random(seed)) or (-1, -1)
        assert chosen == 1 and not all(passes[rejected])
    assert all_tests_trusted_pair([[T, F], [F, T]], ["a", "b"], rng) is None
    pairs = {random_pair(codes, random.Random(seed)) for seed in range(40)}
    assert len(pairs) > 4
    assert all(pair is not None and codes[pair[0]] != codes[pair[1]] for pair in pairs)
    assert random_pair(["same", "same"], rng) is None


def test_self_verification_trusts_the_tests_of_the_top_code() -> None:
    passes = [[T, T, F, F], [T, T, F, F], [F, F, T, F], [F, F, F, F]]
    ranked = rank_codes(
        passes,
        ["a", "b", "c", "d"],
        ranking="self_verification",
        iterations=20,
        damping=0.85,
        normalization="mean",
        min_gap=0.1,
        rng=random.Random(0),
    )
    assert ranked.pair == (0, 3)
    assert ranked.trusted == [0, 1]
    all_trusted = rank_codes(
        passes,
        ["a", "b", "c", "d"],
        ranking="all_tests_trusted",
        iterations=20,
        damping=0.85,
        normalization="mean",
        min_gap=0.1,
        rng=random.Random(0),
    )
    assert all_trusted.trusted == [0, 1, 2, 3]
    assert all_trusted.pair is None  # no code passes every test


def test_efficiency_candidates_pass_every_trusted_test_once_per_text() -> None:
    passes = [[T, T, F], [T, T, T], [T, F, T], [T, T, F]]
    assert efficiency_candidates(passes, [0, 1], ["a", "b", "c", "a"]) == [0, 1]
    assert efficiency_candidates(passes, [0, 1], ["a", "b", "c", "d"]) == [0, 1, 3]
    assert efficiency_candidates(passes, [], ["a", "b", "c", "d"]) == []


def test_efficiency_pair_needs_a_gap_above_the_repeat_noise_and_the_ratio() -> None:
    # clear: best runs 9 vs 2, a gap of 7 over spreads of 0.5 and 1.0, and 9 >= 1.1 * 2
    assert efficiency_pair([[9.0, 9.5], [2.0, 3.0], [5.0, 5.1]], min_speedup=1.1) == (1, 0)
    # ranges overlap: a gap of 1.4 within the fastest's spread of 1.5, though the ratio is 1.7
    assert efficiency_pair([[3.4, 3.6], [2.0, 3.5]], min_speedup=1.1) is None
    # ranges apart, ratio 1.107, but the slow program's own spread (0.6) exceeds the gap (0.3):
    # measured on two equally fast programs on a loaded machine
    assert efficiency_pair([[3.1, 3.7, 3.3], [2.8, 3.0, 2.9]], min_speedup=1.1) is None
    # above the noise but below the ratio
    assert efficiency_pair([[2.15, 2.16], [2.0, 2.01]], min_speedup=1.1) is None
    assert efficiency_pair([[2.15, 2.16], [2.0, 2.01]], min_speedup=1.0) == (1, 0)
    assert efficiency_pair([[1.0]], min_speedup=1.1) is None


# ------------------------------------------------------------------------------------ config


def test_every_setting_has_a_description_and_the_documented_defaults() -> None:
    for name, field in CodeDPOConfig.model_fields.items():
        assert field.description, f"CodeDPOConfig.{name} has no description"
    config = CodeDPOConfig()
    assert (config.iterations, config.damping, config.beta) == (20, 0.85, 0.1)
    assert (config.ranking, config.loss_type, config.normalization) == (
        "self_verification",
        "sigmoid",
        "mean",
    )
    readme = (Path(__file__).parents[2] / "methods" / "codedpo" / "README.md").read_text()
    for name in CodeDPOConfig.model_fields:
        if name != "pairs_file":
            assert f"`{name}`" in readme, f"README does not document {name}"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"test_prefix": "assert f("}, "must contain {entry_point}"),
        ({"test_prompt_template": "{prompt} {oops}"}, "only the fields"),
        ({"ranking": "best"}, "ranking"),
        ({"damping": 1.5}, "damping"),
        ({"timing_repeats": 1}, "timing_repeats"),
    ],
)
def test_bad_settings_are_rejected_with_the_reason(section: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        CodeDPOConfig.model_validate(section)


def test_the_plugin_is_registered_and_valid() -> None:
    assert load_method("codedpo") is CodeDPO
    assert validate_plugin(CodeDPO, "test") is CodeDPO


# ----------------------------------------------------------------------------- generated tests


def _problem(name: str = "has_dup") -> Problem:
    prompt = f"def {name}(xs):\n"
    return Problem(
        problem_id=f"t/{name}",
        prompt=prompt,
        tests=[],
        program_prefix=prompt,
        metadata={"entry_point": name},
    )


def test_generated_lines_become_distinct_compilable_tests() -> None:
    settings = CodeDPOConfig()
    problem = _problem("f")
    assert prompt_for_tests(problem, settings) == (
        "def f(xs):\n    pass\n\n\n# check the correctness of f\nassert f("
    )
    # the fifth parses but does not compile (the sandbox would reject the whole request)
    lines = ["[1]) == 1", "[1]) == 1 ", "[1] ==", "[]) == 0", "1 for i in (y := [1])) == 1"]
    assert usable_tests(problem, lines, settings) == ["assert f([1]) == 1", "assert f([]) == 0"]


def test_the_prompt_docstring_examples_become_tests() -> None:
    prompt = 'def add_1(x: int) -> int:\n    """Return x plus 1.\n\n    >>> add_1(4)\n    5\n'
    prompt += '    """\n'
    problem = Problem(
        problem_id="t/add_1",
        prompt=prompt,
        tests=[],
        program_prefix=prompt,
        metadata={"entry_point": "add_1"},
    )
    assert example_tests(problem) == ["assert (add_1(4)) == (5)"]
    # no example, an example of another function, or an unparsable prompt: no test
    assert example_tests(_problem("f")) == []
    other = problem.model_copy(update={"metadata": {"entry_point": "g"}})
    assert example_tests(other) == []
    for task in load_dataset("crucible-basic", "train")[:20]:
        (test,) = example_tests(to_problems([task])[0])
        program = (task.canonical_solution or "") + test
        exec(compile(program, task.task_id, "exec"), {})  # the reference passes its example


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


LIMITS = Limits(cpu_time_limit_ms=4000, memory_limit_bytes=256 << 20)


def test_one_request_per_code_gives_its_row_of_the_pass_matrix(sandbox: SandboxHandle) -> None:
    problem = _problem()
    codes = [
        "    return len(set(xs)) != len(xs)\n",
        "    return False\n",
        "    return len(xs) >\n",
    ]
    tests = ["assert has_dup([1, 1])", "assert not has_dup([1, 2])", "assert has_dup([])"]
    verdicts = sandbox.execute(
        [matrix_request(f"r{i}", problem, code, tests, LIMITS) for i, code in enumerate(codes)]
    )
    assert [len(v.tests) for v in verdicts[:2]] == [3, 3]  # all tests run, none stops the rest
    assert [pass_row(v, len(tests)) for v in verdicts] == [[T, T, F], [F, T, F], [F, F, F]]
    assert verdicts[2].status is Status.COMPILE_ERROR


@pytest.mark.parametrize("normalization", ["mean", "max", "l2"])
def test_a_wrong_generated_test_is_outvoted_by_the_score_iteration(
    sandbox: SandboxHandle, normalization: Any
) -> None:
    """Real programs, real verdicts: three right codes, two that double instead of adding one.
    One generated test is deliberately wrong (it expects double); only the wrong codes pass it,
    and only the right codes pass the three right tests. The iteration ends with the wrong
    test below every right test, and a right code chosen over a wrong one. With damping 0 (no
    iteration acting) every test keeps the same score."""
    problem = Problem(
        problem_id="inc",
        prompt="def inc(x):\n",
        tests=[],
        program_prefix="def inc(x):\n",
        metadata={"entry_point": "inc"},
    )
    codes = [
        "    return x + 1\n",
        "    return 1 + x\n",
        "    return x - -1\n",
        "    return x * 2\n",
        "    return x + x\n",
    ]
    tests = [
        "assert inc(0) == 1",
        "assert inc(3) == 4",
        "assert inc(-1) == 0",
        "assert inc(2) == 4",
    ]
    verdicts = sandbox.execute(
        [matrix_request(f"c{i}", problem, code, tests, LIMITS) for i, code in enumerate(codes)]
    )
    passes = [pass_row(v, len(tests)) for v in verdicts]
    assert passes == [[T, T, T, F]] * 3 + [[F, F, F, T]] * 2

    def ranked(damping: float) -> Any:
        return rank_codes(
            passes,
            codes,
            ranking="self_verification",
            iterations=20,
            damping=damping,
            normalization=normalization,
            min_gap=0.1,
            rng=random.Random(0),
        )

    result = ranked(0.85)
    *right, wrong = result.test_scores
    assert wrong < min(right)
    assert result.pair is not None and result.pair[0] < 3 <= result.pair[1]
    assert result.trusted == [0, 1, 2]
    assert len(set(ranked(0.0).test_scores)) == 1  # no iteration: the wrong test is not outvoted


def test_generated_test_precision_runs_the_reference_on_the_generated_tests_alone(
    sandbox: SandboxHandle,
) -> None:
    """The reference solution passes two of three generated tests; a prompt example at the
    front of the matrix is not a generated test and is left out of the share."""
    from crucible.methods.codedpo.build import PairBuilder, _Prompt

    model, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    builder = PairBuilder(
        model,
        tokenizer,
        sandbox,
        CodeDPOConfig(),
        sampling=SamplingConfig(),
        limits=LIMITS,
        chat=False,
        seed=0,
    )
    problem = _problem().model_copy(
        update={"reference_solution": "    return len(set(xs)) != len(xs)\n"}
    )
    generated = ["assert has_dup([1, 1])", "assert not has_dup([])", "assert has_dup([1])"]
    builder._check_generated_tests([_Prompt(problem, [], generated)])
    assert builder.stats["generated_tests_checked"] == 3
    assert builder.stats["generated_test_precision"] == pytest.approx(2 / 3)
    example = "assert has_dup([2, 2])"
    builder._check_generated_tests([_Prompt(problem, [], [example, *generated[1:]], 1)])
    assert builder.stats["generated_tests_checked"] == 2
    assert builder.stats["generated_test_precision"] == 0.5


QUADRATIC = (
    "    for i in range(len(xs)):\n"
    "        for j in range(i):\n"
    "            if xs[i] == xs[j]:\n"
    "                return True\n"
    "    return False\n"
)
LINEAR = "    return len(set(xs)) != len(xs)\n"
LINEAR_TOO = "    return len(xs) != len(set(xs))\n"


def test_an_efficiency_pair_prefers_the_linear_solution_on_real_cpu_times(
    sandbox: SandboxHandle,
) -> None:
    problem = _problem()
    tests = ["assert has_dup(list(range(2000))) is False", "assert has_dup([3, 1, 3])"]

    def timed(codes: list[str], repeats: int) -> list[list[float] | None]:
        jobs = [TimingJob(problem, code, tests) for code in codes]
        return time_jobs(sandbox, jobs, repeats=repeats, limits=LIMITS)

    times = timed([QUADRATIC, LINEAR], 3)
    assert all(runs is not None and len(runs) == 3 for runs in times)
    measured = [runs for runs in times if runs is not None]
    assert efficiency_pair(measured, min_speedup=1.1) == (1, 0)
    # two equally fast programs: the gap is noise, so no pair
    measured = [runs for runs in timed([LINEAR, LINEAR_TOO], 5) if runs is not None]
    assert len(measured) == 2
    assert efficiency_pair(measured, min_speedup=1.1) is None
    # a program failing its timing run is no candidate
    assert timed(["    return 1\n"], 2) == [None]


# --------------------------------------------------------------------------------- pairs file


def _pair(**changes: Any) -> PreferencePair:
    values: dict[str, Any] = {
        "prompt": "def f(x):\n",
        "chosen": "    return x\n",
        "rejected": "    return 0\n",
        "problem_id": "p",
        "pair_type": "correctness",
        "ranking": "self_verification",
        "chosen_score": 2.0,
        "rejected_score": 0.5,
        "chosen_tests_passed": 3,
        "rejected_tests_passed": 1,
        "generated_tests": 4,
        "trusted_tests": 3,
    }
    return PreferencePair.model_validate({**values, **changes})


def test_the_pairs_file_round_trips_and_loads_with_datasets(tmp_path: Path) -> None:
    pairs = [
        _pair(),
        _pair(pair_type="efficiency", chosen_cpu_ms=1.5, rejected_cpu_ms=9.0),
        _pair(chosen_passes_reference=True, rejected_passes_reference=False),
    ]
    path = tmp_path / "pairs.jsonl"
    write_pairs(path, pairs)
    assert read_pairs(path) == pairs
    dataset = Dataset.from_json(str(path), cache_dir=str(tmp_path / "cache"))
    assert dataset.num_rows == 3
    assert {"prompt", "chosen", "rejected", "problem_id", "chosen_cpu_ms"} <= set(
        dataset.column_names
    )
    assert dataset[1]["rejected_cpu_ms"] == 9.0 and dataset[0]["rejected_cpu_ms"] is None


def test_chat_runs_write_conversational_pairs(tmp_path: Path) -> None:
    pair = _pair(
        prompt=as_prompt("def f(x):\n", chat=True),
        chosen=as_completion("    return x\n", chat=True),
        rejected=as_completion("    return 0\n", chat=True),
    )
    assert pair.prompt == [{"role": "user", "content": "def f(x):\n"}]
    assert pair.chosen == [{"role": "assistant", "content": "    return x\n"}]
    assert as_prompt("def f(x):\n", chat=False) == "def f(x):\n"
    write_pairs(tmp_path / "chat.jsonl", [pair])
    assert read_pairs(tmp_path / "chat.jsonl") == [pair]


def test_a_bad_pairs_file_names_the_line_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(_pair().model_dump_json() + "\n" + json.dumps({"prompt": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"line 2: chosen: Field required"):
        read_pairs(path)
    path.write_text("{not json\n")
    with pytest.raises(ValueError, match="line 1: not JSON"):
        read_pairs(path)
    with pytest.raises(ValueError, match="cannot read it"):
        read_pairs(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------------------------- DPO


def _sequence_logprob(model: Any, prompt_ids: list[int], completion_ids: list[int]) -> float:
    with torch.no_grad():
        logprobs, _ = completion_logprobs(model, [prompt_ids], [completion_ids], 0)
    return float(logprobs[0].sum())


@pytest.mark.parametrize("loss_type", ["sigmoid", "hinge"])
def test_trl_dpo_loss_matches_the_hand_computed_objective(tmp_path: Path, loss_type: str) -> None:
    policy, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    reference, _ = load_model(ModelConfig(name_or_path="tiny", device="cpu", seed=1))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a reference far from the policy, so the margin is far from 0
        for parameter in reference.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator))
    settings = CodeDPOConfig(loss_type=loss_type, beta=0.3, batch_size=1, lr=1e-3)
    pair = _pair(prompt="def f(x):\n  ", chosen="return x\n", rejected="return 0\n")
    trainer = dpo_trainer(
        policy, tokenizer, [pair], settings, output_dir=tmp_path, seed=0, reference=reference
    )
    row = trainer.train_dataset[0]
    prompt, chosen, rejected = row["prompt_ids"], row["chosen_ids"], row["rejected_ids"]
    margin = (
        _sequence_logprob(policy, prompt, chosen)
        - _sequence_logprob(reference, prompt, chosen)
        - _sequence_logprob(policy, prompt, rejected)
        + _sequence_logprob(reference, prompt, rejected)
    )
    assert abs(margin) > 0.1  # two different models: the loss is not the trivial log 2
    expected = (
        -torch.nn.functional.logsigmoid(torch.tensor(0.3 * margin))
        if loss_type == "sigmoid"
        else torch.relu(torch.tensor(1 - 0.3 * margin))
    )
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logged) == 1
    assert logged[0]["loss"] == pytest.approx(float(expected), rel=1e-4)


def test_pairs_are_tokenised_as_the_sampler_continues_the_prompt(tmp_path: Path) -> None:
    # A code prompt ends with a newline and a completion starts with indentation: trl's own rule
    # (tokenise prompt + completion as one text) merges them into one token and trains the
    # completion after a prompt the sampler never produces. The pairs must start where sampling
    # starts: after the prompt's own tokens, BOS included.
    policy, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    pair = _pair()
    prompt_text = format_prompt(tokenizer, pair.prompt, chat=False)
    joint = tokenizer(prompt_text + pair.chosen, add_special_tokens=False)["input_ids"]
    sampled_prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    assert joint[: len(sampled_prompt)] != sampled_prompt  # the boundary does merge
    eos = tokenizer.eos_token_id
    expected = {
        "prompt_ids": sampled_prompt,
        "chosen_ids": tokenizer(pair.chosen, add_special_tokens=False)["input_ids"] + [eos],
        "rejected_ids": tokenizer(pair.rejected, add_special_tokens=False)["input_ids"] + [eos],
    }
    assert tokenize_pair(tokenizer, pair.prompt, pair.chosen, pair.rejected) == expected
    trainer = dpo_trainer(policy, tokenizer, [pair], CodeDPOConfig(), output_dir=tmp_path, seed=0)
    row = trainer.train_dataset[0]
    assert {key: row[key] for key in expected} == expected
    # and that is how the sampler encodes the prompt it continues
    (sample,) = Sampler(policy, tokenizer, SamplingConfig(max_new_tokens=2)).sample(
        [prompt_text], n=1, seed=0
    )[0]
    assert sample.prompt_ids == expected["prompt_ids"]


def test_the_precomputed_reference_is_the_model_as_training_starts(tmp_path: Path) -> None:
    policy, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    with torch.no_grad():
        for parameter in policy.parameters():  # a "warm start" the folder on disk does not have
            parameter.add_(0.01)
    trainer = dpo_trainer(
        policy, tokenizer, [_pair()], CodeDPOConfig(), output_dir=tmp_path, seed=0
    )
    row = trainer.train_dataset[0]
    assert row["ref_chosen_logps"] == pytest.approx(
        _sequence_logprob(policy, row["prompt_ids"], row["chosen_ids"]), rel=1e-4
    )
    assert row["ref_rejected_logps"] == pytest.approx(
        _sequence_logprob(policy, row["prompt_ids"], row["rejected_ids"]), rel=1e-4
    )


# ------------------------------------------------------------------------------- end to end

TRAIN_TASKS = 8


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model that has seen the first training tasks' solutions and example tests, saved
    to a folder: a tiny model from scratch writes neither code nor tests, so it builds no pairs."""
    model, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    tasks = load_dataset("crucible-basic", "train")[:TRAIN_TASKS]
    settings = CodeDPOConfig()
    pairs = [(task.prompt, task.canonical_completion or "") for task in tasks]
    pairs += [
        (
            prompt_for_tests(problem, settings),
            ", ".join(repr(a) for a in example.args) + f") == {example.expected!r}\n",
        )
        for problem, task in zip(to_problems(tasks), tasks, strict=True)
        for example in task.examples
    ]
    fine_tune(model, tokenizer, pairs, epochs=10, lr=5e-3, seed=0)
    folder = tmp_path_factory.mktemp("writer")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


SHORT_BUILD = [
    "warm_start.sft_epochs=0",
    f"data.max_train_tasks={TRAIN_TASKS}",
    "sampling.max_new_tokens=16",
    "method.test_max_new_tokens=12",
    "method.codes_per_prompt=8",
    "method.tests_per_prompt=8",
    "method.timing_repeats=2",
    "method.batch_size=8",
    "method.epochs=1",
]


@pytest.mark.slow  # ~15 s: sampling, the sandbox, DPO steps, a checkpoint, a resume
def test_a_run_builds_pairs_trains_with_dpo_and_checkpoints(
    tmp_path: Path, sandbox: SandboxHandle, writer: Path
) -> None:
    config = load_run_config(
        "configs/codedpo.yaml",
        [f"trainer.output_dir={tmp_path}", f"model.name_or_path={writer}", *SHORT_BUILD],
    )
    settings = method_settings(config, CodeDPOConfig, "test")
    assert isinstance(settings, CodeDPOConfig)
    problems = to_problems(load_dataset("crucible-basic", "train")[:TRAIN_TASKS])
    model, tokenizer = load_model(config.model)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(
        config, CodeDPO, settings, problems, model, tokenizer, sandbox, show_progress=False
    )
    result = trainer.train(initial_metrics={"eval_pass@1": 0.25})

    written = read_pairs(tmp_path / "pairs.jsonl")
    stats = json.loads((tmp_path / "pairs_stats.json").read_text())
    assert written and stats["correctness_pairs"] + stats["efficiency_pairs"] == len(written)
    assert stats["problems"] == TRAIN_TASKS and stats["tests_usable"] > 0
    # the config's prompt examples are off: every pair was ranked on generated tests alone
    assert not settings.prompt_example_tests and "tests_from_prompt" not in stats
    assert all(p.prompt_example_tests == 0 and p.generated_tests > 0 for p in written)
    assert stats["pairs_from_generated_tests"] == len(written)
    assert 0.0 < stats["generated_test_precision"] <= 1.0
    for pair in written:
        assert pair.chosen != pair.rejected
        assert pair.chosen_passes_reference is not None
        if pair.pair_type == "correctness":
            assert pair.chosen_score > pair.rejected_score
            assert pair.chosen_tests_passed >= 1
    history = result.history
    assert history[0] == {"step": 0, "eval_pass@1": 0.25}
    steps = [row for row in history if row["step"] > 0]
    assert result.steps == len(steps) == math.ceil(len(written) / 8)
    assert all("loss" in row and "rewards/margins" in row for row in steps)
    assert all(row["pairs_from_generated_tests"] == len(written) for row in steps)
    assert all(
        row["generated_test_precision"] == stats["generated_test_precision"] for row in steps
    )
    assert result.activity == {
        "pairs_from_generated_tests": len(written),
        "generated_test_precision": stats["generated_test_precision"],
    }
    assert steps[0]["data/codes"] == TRAIN_TASKS * 8
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert (tmp_path / "checkpoints" / f"step-{result.steps:06d}").is_dir()

    # a finished run resumes as finished: nothing is built or trained again
    (tmp_path / "pairs.jsonl").unlink()
    again = Trainer(
        config, CodeDPO, settings, problems, model, tokenizer, sandbox, show_progress=False
    ).train(resume=True)
    assert again.steps == result.steps and again.history == history
    assert not (tmp_path / "pairs.jsonl").exists()


CRUCIBLE = str(Path(sys.executable).with_name("crucible"))


def _crucible(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRUCIBLE, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_command_line_lists_both_plugins() -> None:
    result = CliRunner().invoke(app, ["methods", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["codedpo"]["status"] == rows["cycle"]["status"] == "ok"
    assert "beta" in rows["codedpo"]["settings"] and "pgm_rate" in rows["cycle"]["settings"]


def test_build_pairs_refuses_a_pairs_file_and_bad_settings(tmp_path: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "p.jsonl")
    result = runner.invoke(
        app, ["codedpo", "build-pairs", "--output", out, "--set", "method.pairs_file=x.jsonl"]
    )
    assert result.exit_code == 2 and "pairs_file is set" in result.stderr
    result = runner.invoke(
        app, ["codedpo", "build-pairs", "--output", out, "--set", "method.damping=2"]
    )
    assert result.exit_code == 2 and "method.damping" in result.stderr


@pytest.mark.slow  # ~40 s: two commands, each loading the model and the sandbox
def test_build_pairs_then_train_on_them_from_the_command_line(tmp_path: Path, writer: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    common = ["--config", "configs/codedpo.yaml", "--set", f"model.name_or_path={writer}"]
    for setting in SHORT_BUILD:
        common += ["--set", setting]
    built = _crucible("codedpo", "build-pairs", *common, "--output", str(pairs), "--json")
    assert built.returncode == 0, built.stderr
    stats = json.loads(built.stdout)
    rows = read_pairs(pairs)
    assert rows and stats["correctness_pairs"] + stats["efficiency_pairs"] == len(rows)
    assert json.loads(pairs.with_suffix(".stats.json").read_text()) == stats

    trained = _crucible(
        "train",
        *common,
        "--set",
        f"method.pairs_file={pairs}",
        "--set",
        "data.max_eval_tasks=1",
        "--set",
        "data.eval_samples=1",
        "--set",
        "data.eval_k=[1]",
        "--output-dir",
        str(tmp_path / "run"),
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["method"] == "codedpo" and summary["steps"] == math.ceil(len(rows) / 8)
    assert "pass@1" in summary["before"] and "pass@1" in summary["after"]
    assert not (tmp_path / "run" / "pairs.jsonl").exists()  # trained on the given file
