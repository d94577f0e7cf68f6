"""StepCoder: CCCS start points and stage movement, FGO masks against real sandbox verdicts, the
PPO pieces on hand-computed numbers, the hooks on the tiny model, and two training steps with a
resume through the kernel's Trainer."""

from __future__ import annotations

import doctest
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

import crucible.methods.stepcoder.curriculum as curriculum_module
import crucible.methods.stepcoder.fgo as fgo_module
import crucible.methods.stepcoder.loss as loss_module
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.config import LoraSettings, ModelConfig, SamplingConfig
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import MethodContext, Problem, Query, Rollout, validate_plugin
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import RunConfig, load_run_config, method_settings
from crucible.kernel.sampler import Sample, Sampler, format_prompt
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import fine_tune
from crucible.kernel.token_text import TokenBytes, decode_with_offsets
from crucible.methods.grpo.config import GRPOConfig
from crucible.methods.stepcoder import StepCoder
from crucible.methods.stepcoder.config import StepCoderConfig
from crucible.methods.stepcoder.curriculum import (
    StageState,
    answer_prefix,
    conditional_start_lines,
    curriculum,
    head,
    source_lines,
    start_points,
)
from crucible.methods.stepcoder.fgo import fgo_mask
from crucible.methods.stepcoder.loss import (
    clipped_policy_loss,
    clipped_value_loss,
    gae,
    kl_penalised_rewards,
    whiten,
)
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Status, TestCase

pytestmark = pytest.mark.train

MakeRollouts = Callable[..., list[Rollout]]

# A canonical solution with every kind of conditional statement (lines numbered on the right).
CANONICAL = (
    "def solve(xs):\n"  # 1
    "    total = 0\n"  # 2
    "    for x in xs:\n"  # 3  for
    "        if x > 0:\n"  # 4  if
    "            total += x\n"  # 5
    "        elif x < -5:\n"  # 6  elif
    "            total -= 1\n"  # 7
    "    while total > 100:\n"  # 8  while
    "        total //= 2\n"  # 9
    "    try:\n"  # 10 try
    "        return [v for v in xs if v] and total\n"  # 11 (a comprehension's if: no statement)
    "    except TypeError:\n"  # 12
    "        return 0\n"  # 13
)
SIGNATURE = "def solve(xs):\n"
BODY = CANONICAL[len(SIGNATURE) :]


# ------------------------------------------------------------------------------ CCCS: points


def test_conditional_start_lines_are_the_if_elif_for_while_try_statements() -> None:
    assert conditional_start_lines(CANONICAL) == [3, 4, 6, 8, 10]


def test_start_points_are_prefix_lengths_of_the_reference_in_its_own_lines() -> None:
    # the reference continues the signature (one prelude line): statement line L -> L - 2 lines
    assert start_points(BODY, SIGNATURE) == [1, 2, 4, 6, 8]
    # a whole-program reference (APPS style, no prelude): L - 1 lines, and line 1's statement
    # (an empty prefix, i.e. the final stage s* = 0) is not a point
    assert start_points("for i in range(3):\n    print(i)\nif True:\n    pass\n") == [2]


def test_apps_plus_scope_replaces_the_ast_and_uses_whole_program_lines() -> None:
    row = json.loads((Path(__file__).parents[1] / "evaluation/fixtures/apps_plus.json").read_text())
    reference = row[0]["solutions"][0]
    assert row[0]["scope"] == [["For", 3, 5], ["If", 4, 5]]
    assert start_points(reference, "", row[0]["scope"]) == [2, 3]
    # a scope is taken as given, even where the AST would find other statements
    assert start_points(BODY, SIGNATURE, [["If", 10, 13]]) == [8]


def test_an_unparsable_reference_has_no_start_points_and_a_bad_prefix_is_refused() -> None:
    assert start_points("    if x:\n        return (\n", "def f(x):\n") == []
    with pytest.raises(ValueError, match="must end with a newline"):
        start_points(BODY, "def solve(xs):")


def test_lines_are_split_as_pythons_compiler_counts_them() -> None:
    text = "a = 1\r\nb = '\x0c'\rc = 2\nd"
    assert source_lines(text) == ["a = 1\r\n", "b = '\x0c'\r", "c = 2\n", "d"]
    assert head(text, 2) == "a = 1\r\nb = '\x0c'\r"
    assert head(text, 0) == ""


# --------------------------------------------------------------------------- CCCS: stages


@pytest.mark.parametrize(
    ("points", "stride", "stages"),
    [
        ([], None, [0]),
        ([3], None, [3, 0]),  # E = 1: stride 1
        ([2, 4], None, [4, 2, 0]),  # E = 2: ceil(sqrt 2) = 2, stride ceil(2/2) = 1
        ([1, 2, 4, 6], None, [6, 2, 0]),  # E = 4: stride ceil(4/2) = 2
        ([1, 2, 4, 6, 8], None, [8, 4, 1, 0]),  # E = 5: ceil(sqrt 5) = 3, stride ceil(5/3) = 2
        (list(range(1, 10)), None, [9, 6, 3, 0]),  # E = 9: stride 3
        (list(range(1, 11)), None, [10, 7, 4, 1, 0]),  # E = 10: ceil(sqrt 10) = 4, stride 3
        ([1, 2, 4, 6, 8], 1, [8, 6, 4, 2, 1, 0]),  # an explicit stride
    ],
)
def test_curricula_start_nearest_the_end_and_step_by_the_stride(
    points: list[int], stride: int | None, stages: list[int]
) -> None:
    assert curriculum(points, stride) == stages


def test_a_stage_moves_only_when_its_cumulative_accuracy_exceeds_rho() -> None:
    state = StageState(stages=[6, 2, 0])
    assert state.prefix_lines == 6
    assert not state.record(3, 5, threshold=0.6, min_attempts=1)  # 0.6 is not above 0.6
    assert (state.stage, state.passed, state.attempts) == (0, 3, 5)
    assert state.record(1, 1, threshold=0.6, min_attempts=1)  # cumulative 4/6 > 0.6
    assert (state.stage, state.passed, state.attempts, state.prefix_lines) == (1, 0, 0, 2)
    assert not state.record(1, 1, threshold=0.6, min_attempts=2)  # too few attempts yet
    assert state.record(1, 1, threshold=0.6, min_attempts=2)  # 2/2
    assert state.final and state.prefix_lines == 0
    assert not state.record(4, 4, threshold=0.6, min_attempts=1)  # s* = 0 is the last stage
    assert state.stage == 2
    with pytest.raises(ValueError, match=r"passed=3 must lie in 0\.\.attempts=2"):
        state.record(3, 2, threshold=0.6, min_attempts=1)


def test_stage_state_round_trips_and_rejects_nonsense() -> None:
    state = StageState(stages=[4, 2, 0], stage=1, passed=2, attempts=3)
    assert StageState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    with pytest.raises(ValueError, match="invalid curriculum state"):
        StageState.from_dict({"stages": [4, 2], "stage": 0, "passed": 0, "attempts": 0})


# -------------------------------------------------------------------------------------- FGO


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


def _offsets(tokenizer: Any, text: str) -> list[tuple[int, int]]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    decoded, offsets = decode_with_offsets(TokenBytes(tokenizer), ids)
    assert decoded == text
    return offsets


def _lines_touched(text: str, start: int, end: int) -> set[int]:
    """Every 1-based line a character span touches, counted directly from the text."""
    first = text[:start].count("\n") + 1
    return set(range(first, first + text[start : max(start, end - 1)].count("\n") + 1))


# A completion whose else-branch the test never takes (line numbers of the completion): the
# closing bracket of an executed multi-line statement, `else:` and a comment are no statements;
# the unexecuted `return max(...)` spans three lines, all of them executable and missing.
BRANCHY = (
    "    values = [\n"  # 1 executed (a statement over lines 1-3)
    "        x,\n"  # 2 executed
    "    ]\n"  # 3 executed
    "    if values[0] > 0:\n"  # 4 executed
    "        return 1\n"  # 5 executed
    "    else:\n"  # 6 no statement
    "        # never taken by the tests\n"  # 7 comment
    "        return max(\n"  # 8 missing
    "            -1, x\n"  # 9 missing
    "        )\n"  # 10 missing
)
SIGN = Problem(
    problem_id="sign",
    prompt="def sign(x):\n",
    tests=[TestCase(body=AssertTest(code="assert sign(5) == 1"))],
    program_prefix="def sign(x):\n",
)
MISSING_LINES = {8, 9, 10}


def _branchy_verdict(sandbox: SandboxHandle, problem: Problem = SIGN) -> Any:
    """BRANCHY run against ``problem``'s tests, whose calls all take the if-branch."""
    (verdict,) = sandbox.execute(
        [
            ExecuteRequest(
                source=BRANCHY,
                prelude=problem.program_prefix,
                tests=problem.tests,
                collect_coverage=True,
            )
        ]
    )
    assert verdict.executed_lines == [1, 2, 3, 4, 5]
    assert set(verdict.executable_lines) - set(verdict.executed_lines) == MISSING_LINES
    return verdict


def test_fgo_masks_exactly_the_tokens_only_on_lines_a_real_verdict_left_unexecuted(
    tiny: tuple[Any, Any], sandbox: SandboxHandle
) -> None:
    verdict = _branchy_verdict(sandbox)
    assert verdict.status is Status.PASSED
    offsets = _offsets(tiny[1], BRANCHY)
    mapping = tiny[1](BRANCHY, add_special_tokens=False, return_offsets_mapping=True)
    assert offsets == mapping["offset_mapping"]  # the tokenizer's own offset mapping
    mask, fell_back = fgo_mask(offsets, BRANCHY, verdict.executed_lines, verdict.executable_lines)
    expected = [0.0 if _lines_touched(BRANCHY, s, e) <= MISSING_LINES else 1.0 for s, e in offsets]
    assert mask == expected and not fell_back
    assert 0 < sum(mask) < len(mask)
    for line in ("    else:", "        # never", "    ]\n"):  # never masked
        start = BRANCHY.index(line)
        assert all(m == 1.0 for m, (s, _) in zip(mask, offsets, strict=True) if s == start)
    dead = BRANCHY.index("return max(")
    assert all(m == 0.0 for m, (s, _) in zip(mask, offsets, strict=True) if s >= dead)


@pytest.mark.parametrize(("empty", "value"), [("unmasked", 1.0), ("drop", 0.0)])
def test_fgo_falls_back_when_a_compile_error_executed_nothing(
    tiny: tuple[Any, Any], sandbox: SandboxHandle, empty: Any, value: float
) -> None:
    completion = "    return (x +\n"
    (verdict,) = sandbox.execute(
        [
            ExecuteRequest(
                source=completion,
                prelude="def f(x):\n",
                tests=[TestCase(body=AssertTest(code="assert f(1) == 1"))],
                collect_coverage=True,
            )
        ]
    )
    assert verdict.status is Status.COMPILE_ERROR and verdict.executed_lines == []
    offsets = _offsets(tiny[1], completion)
    mask = fgo_mask(offsets, completion, [], verdict.executable_lines, empty)
    assert mask == ([value] * len(offsets), True)


def test_fgo_refuses_executed_lines_without_executable_ones() -> None:
    with pytest.raises(ValueError, match="no executable lines"):
        fgo_mask([(0, 2)], "a\n", [1], [])


def _given_rollout(tokenizer: Any, query: Query, completion: str, verdict: Any) -> Rollout:
    """A rollout of a given completion: its tokens as the tokenizer encodes them, with an
    end-of-sequence token, as the sampler records a finished sample."""
    prompt = format_prompt(tokenizer, query.prompt, False, answer_prefix=query.answer_prefix)
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    text, offsets = decode_with_offsets(TokenBytes(tokenizer), ids)
    assert text == completion
    sample = Sample(
        prompt=prompt,
        completion=completion,
        prompt_ids=tokenizer(prompt, add_special_tokens=False)["input_ids"],
        completion_ids=[*ids, tokenizer.eos_token_id],
        logprobs=torch.zeros(len(ids) + 1),  # unused: StepCoder recomputes them in score
        offsets=[*offsets, (len(text), len(text))],
        finish_reason="eos",
    )
    return Rollout(query, sample, verdict)


def _gradients(
    sandbox: SandboxHandle, settings: StepCoderConfig
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """score -> loss -> backward of the plugin on two rollouts of BRANCHY (real verdicts, one
    passing, one failing), with a trained-looking value head; returns, per completion token of
    the first rollout, the gradient norm on its logits (what reaches its log-prob), the norm on
    the last hidden state at the position that predicts it (where the value head reads), and
    the FGO mask."""
    model, tokenizer = load_model(ModelConfig(name_or_path="tiny"))
    context = MethodContext(model, tokenizer, torch.device("cpu"), 0, int(tokenizer.pad_token_id))
    method = StepCoder(settings, context)
    with torch.no_grad():
        method.value_head.linear.weight.copy_(
            torch.randn(method.value_head.linear.weight.shape, generator=torch.Generator())
        )
    query = Query(SIGN, SIGN.prompt, SIGN.program_prefix)
    failing = SIGN.model_copy(
        update={"tests": [TestCase(body=AssertTest(code="assert sign(5) == 2"))]}
    )
    right, wrong = _branchy_verdict(sandbox), _branchy_verdict(sandbox, failing)
    assert (right.status, wrong.status) == (Status.PASSED, Status.WRONG_ANSWER)
    rollouts = [
        _given_rollout(tokenizer, query, BRANCHY, right),
        _given_rollout(tokenizer, Query(failing, SIGN.prompt, SIGN.program_prefix), BRANCHY, wrong),
    ]
    scores = method.score(rollouts)
    seen: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            output.register_hook(lambda grad: seen.__setitem__(name, grad))

        return hook

    handles = [
        model.lm_head.register_forward_hook(keep("logits")),
        model.model.norm.register_forward_hook(keep("hidden")),
    ]
    model.train()
    method.loss(rollouts, scores).loss.backward()
    for handle in handles:
        handle.remove()
    start = len(rollouts[0].sample.prompt_ids) - 1
    positions = slice(start, start + len(rollouts[0].sample.completion_ids))
    return (
        seen["logits"][0, positions].norm(dim=-1),
        seen["hidden"][0, positions].norm(dim=-1),
        scores[0].data["mask"].tolist(),
    )


@pytest.mark.train
def test_fgo_zeroes_the_gradient_of_exactly_the_unexecuted_tokens_and_keeps_the_critics(
    sandbox: SandboxHandle,
) -> None:
    logits, hidden, mask = _gradients(sandbox, StepCoderConfig())
    masked = [index for index, m in enumerate(mask) if m == 0.0]
    kept = [index for index, m in enumerate(mask) if m == 1.0]
    assert masked and kept and len(masked) + len(kept) == len(mask)
    assert all(float(logits[index]) == 0.0 for index in masked)  # exactly: no policy gradient
    assert all(float(logits[index]) > 0.0 for index in kept)
    # the value loss is not masked: the critic still learns V on the unexecuted tokens
    assert all(float(hidden[index]) > 0.0 for index in masked)
    _, silent, _ = _gradients(sandbox, StepCoderConfig(value_coef=0.0))
    assert all(float(silent[index]) == 0.0 for index in masked)  # ... and only through it

    logits, _, mask = _gradients(sandbox, StepCoderConfig(fgo=False))
    assert set(mask) == {1.0}
    assert all(float(norm) > 0.0 for norm in logits)  # without FGO no token's gradient is zero


# -------------------------------------------------------------------------------------- PPO


def test_kl_penalised_rewards_put_the_execution_reward_on_the_last_token() -> None:
    rewards = kl_penalised_rewards(
        -0.3, torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([-1.5, -2.0, -1.0]), 0.5
    )
    # -0.5 * (0.5, 0, 0.5) and -0.3 on the last token
    assert rewards.tolist() == pytest.approx([-0.25, 0.0, -0.55])
    assert kl_penalised_rewards(1.0, torch.zeros(0), torch.zeros(0), 0.5).numel() == 0


def test_gae_matches_a_hand_computation() -> None:
    rewards = torch.tensor([0.1, 0.0, 1.0])
    values = torch.tensor([0.2, 0.4, 0.3])
    advantages, returns = gae(rewards, values, gamma=0.9, lam=0.5)
    # deltas: 1.0 - 0.3 = 0.7; 0 + 0.9*0.3 - 0.4 = -0.13; 0.1 + 0.9*0.4 - 0.2 = 0.26
    # A2 = 0.7; A1 = -0.13 + 0.45*0.7 = 0.185; A0 = 0.26 + 0.45*0.185 = 0.34325
    assert advantages.tolist() == pytest.approx([0.34325, 0.185, 0.7])
    assert returns.tolist() == pytest.approx([0.54325, 0.585, 1.0])
    # gamma = lambda = 1 with zero values: every advantage is the final reward plus later ones
    advantages, _ = gae(torch.tensor([0.0, 0.0, -1.0]), torch.zeros(3), 1.0, 1.0)
    assert advantages.tolist() == [-1.0, -1.0, -1.0]


def test_whiten_normalises_over_the_masked_in_tokens_of_all_completions() -> None:
    ones = [torch.ones(2), torch.ones(2)]
    parts = whiten([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0])], ones)
    flat = torch.cat(parts)
    assert [p.numel() for p in parts] == [2, 2]
    assert float(flat.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(flat.var()) == pytest.approx(1.0, abs=1e-6)
    assert whiten([torch.tensor([2.0])], [torch.ones(1)])[0].tolist() == [0.0]
    # a masked token's value takes no part in the statistics: the masked-in ones alone have
    # mean 0 and variance 1, whatever the masked one holds
    masks = [torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])]
    for outlier in (2.0, 1000.0):
        parts = whiten([torch.tensor([1.0, outlier]), torch.tensor([3.0, 6.0])], masks)
        kept = torch.cat(parts)[torch.cat(masks) > 0]
        assert float(kept.mean()) == pytest.approx(0.0, abs=1e-6)
        assert float(kept.var()) == pytest.approx(1.0, abs=1e-6)
    nothing = [torch.tensor([4.0])]
    assert whiten(nothing, [torch.zeros(1)])[0].tolist() == [4.0]


def test_the_policy_loss_clips_the_ratio_and_averages_per_completion() -> None:
    logprobs = [torch.log(torch.tensor([1.5, 0.7, 1.1, 0.5])), torch.log(torch.tensor([0.9]))]
    old = [torch.zeros(4), torch.zeros(1)]
    advantages = [torch.tensor([1.0, 1.0, -1.0, 3.0]), torch.tensor([2.0])]
    masks = [torch.tensor([1.0, 1.0, 1.0, 0.0]), torch.tensor([1.0])]
    loss, clip_frac = clipped_policy_loss(logprobs, old, advantages, masks, clip_range=0.2)
    # completion 0: token 0: min(1.5, 1.2) = 1.2 (clipped); token 1: min(0.7, 0.8) = 0.7;
    # token 2: A < 0: min(-1.1, -1.1) = -1.1; token 3 masked out -> its mean over 3 tokens;
    # completion 1: 2 * 0.9; the batch: the mean of the two completions (not of the 4 tokens)
    assert float(loss) == pytest.approx(-((1.2 + 0.7 - 1.1) / 3 + 1.8) / 2, abs=1e-6)
    assert clip_frac == pytest.approx(1 / 4)
    # an all-masked completion adds 0 and still counts in the mean
    dropped = [masks[0], torch.zeros(1)]
    half, _ = clipped_policy_loss(logprobs, old, advantages, dropped, clip_range=0.2)
    assert float(half) == pytest.approx(-(1.2 + 0.7 - 1.1) / 3 / 2, abs=1e-6)
    zeros = [torch.zeros(4), torch.zeros(1)]
    zero, frac = clipped_policy_loss(logprobs, old, advantages, zeros, 0.2)
    assert float(zero) == 0.0 and frac == 0.0


def test_the_masked_loss_has_no_gradient_on_masked_tokens() -> None:
    logprobs = torch.zeros(3, requires_grad=True)
    loss, _ = clipped_policy_loss(
        [logprobs], [torch.zeros(3)], [torch.ones(3)], [torch.tensor([1.0, 0.0, 1.0])], 0.2
    )
    loss.backward()
    assert logprobs.grad is not None
    assert logprobs.grad.tolist() == pytest.approx([-0.5, 0.0, -0.5])


def test_the_value_loss_takes_the_worse_of_clipped_and_unclipped() -> None:
    values = torch.tensor([1.0, 0.1])
    old = torch.tensor([0.0, 0.0])
    returns = torch.tensor([0.0, 1.0])
    # token 0: max(1, 0.2^2) = 1; token 1: max(0.81, (0.1 - 1)^2) = 0.81
    assert float(clipped_value_loss(values, old, returns, 0.2)) == pytest.approx(0.5 * 1.81 / 2)
    # the clipped term binds when the new value moved past the return
    assert float(
        clipped_value_loss(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.9]), 0.2)
    ) == pytest.approx(0.5 * 0.7**2)


def test_the_modules_examples_run() -> None:
    for module in (curriculum_module, fgo_module, loss_module):
        result = doctest.testmod(module)
        assert result.attempted >= 2 and result.failed == 0, module.__name__


# ----------------------------------------------------------------------------------- config


def test_every_setting_is_described_and_the_defaults_are_the_documented_ones() -> None:
    for name, field in StepCoderConfig.model_fields.items():
        assert field.description, f"StepCoderConfig.{name} has no description"
    config = StepCoderConfig()
    assert (config.cccs, config.fgo, config.accuracy_threshold, config.empty_mask) == (
        True,
        True,
        0.6,
        "unmasked",
    )
    assert (config.ppo_epochs, config.clip_range, config.value_clip_range) == (4, 0.2, 0.2)
    assert (config.value_coef, config.kl_coef, config.gamma, config.lam) == (0.1, 0.05, 1.0, 0.95)


@pytest.mark.parametrize(
    "section",
    [{"accuracy_threshold": 1.0}, {"empty_mask": "zero"}, {"ppo_epochs": 0}, {"rho": 0.5}],
)
def test_bad_settings_are_rejected(section: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        StepCoderConfig.model_validate(section)


def test_the_plugin_is_registered_and_valid(context: MethodContext) -> None:
    assert load_method("stepcoder") is StepCoder
    assert validate_plugin(StepCoder, "test") is StepCoder
    with pytest.raises(TypeError, match="needs settings of type StepCoderConfig, got GRPOConfig"):
        StepCoder(GRPOConfig(), context)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ hooks


def _problem() -> Problem:
    return Problem(
        problem_id="solve",
        prompt=SIGNATURE,
        tests=[TestCase(body=AssertTest(code="assert solve([1, 2]) == 3"))],
        program_prefix=SIGNATURE,
        reference_solution=BODY,
    )


def test_queries_put_the_stage_prefix_in_the_prompt_and_the_executed_prelude(
    context: MethodContext,
) -> None:
    method = StepCoder(StepCoderConfig(), context)
    (query,) = method.queries([_problem()])
    # points [1, 2, 4, 6, 8]: E = 5, stride 2 -> stages [8, 4, 1, 0]; first stage: 8 lines
    assert method.curricula["solve"].stages == [8, 4, 1, 0]
    prefix = answer_prefix(head(BODY, 8))
    assert prefix.endswith("        total //= 2")
    assert (query.prompt, query.answer_prefix) == (SIGNATURE, prefix)
    assert query.program_prefix == SIGNATURE + prefix
    (plain,) = StepCoder(StepCoderConfig(cccs=False), context).queries([_problem()])
    assert (plain.prompt, plain.answer_prefix, plain.program_prefix) == (SIGNATURE, "", SIGNATURE)


def test_the_answer_prefix_ends_where_the_reference_continues_on_a_token_boundary(
    context: MethodContext,
) -> None:
    """The model is shown each stage's head tokenized as it saw the head in training: the
    formatted prompt's tokens are exactly the first tokens of prompt + the whole reference. A
    head cut after its newline fails this (a bare newline token where training had the
    newline merged with the next line's indentation)."""
    tokenizer = context.tokenizer
    problems = to_problems(load_dataset("crucible-steps", "train")[:20])
    method = StepCoder(StepCoderConfig(stride=1), context)
    checked = 0
    for problem in problems:
        for lines in method.stage_of(problem).stages[:-1]:
            prefix = answer_prefix(head(problem.reference_solution, lines))
            prompt = format_prompt(tokenizer, problem.prompt, False, answer_prefix=prefix)
            whole = prompt[: len(prompt) - len(prefix)] + problem.reference_solution
            ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            assert tokenizer(whole, add_special_tokens=False)["input_ids"][: len(ids)] == ids
            checked += 1
    assert checked >= 20


def _staged_rollouts(
    method: StepCoder, make_rollouts: MakeRollouts, statuses: list[Status]
) -> list[Rollout]:
    """Real samples of the tiny model, re-attached to StepCoder's query of the test problem."""
    (query,) = method.queries([_problem()])
    base = make_rollouts(
        [[(status, 1.0 if status is Status.PASSED else 0.0) for status in statuses]]
    )
    return [Rollout(query, r.sample, r.verdict) for r in base]


def test_observe_moves_a_problem_one_stage_when_its_accuracy_crosses_rho(
    context: MethodContext, make_rollouts: MakeRollouts
) -> None:
    method = StepCoder(StepCoderConfig(), context)
    half = _staged_rollouts(method, make_rollouts, [Status.PASSED, Status.WRONG_ANSWER])
    assert method.observe(half, [])["cccs_stage_moves"] == 0.0
    assert method.curricula["solve"].to_dict() == {
        "stages": [8, 4, 1, 0],
        "stage": 0,
        "passed": 1,
        "attempts": 2,
    }
    passing = _staged_rollouts(method, make_rollouts, [Status.PASSED, Status.PASSED])
    assert method.observe(passing, [])["cccs_stage_moves"] == 1.0  # 3 of 4 > 0.6
    (query,) = method.queries([_problem()])
    assert query.answer_prefix == answer_prefix(head(BODY, 4))

    resumed = StepCoder(StepCoderConfig(), context)
    resumed.load_state_dict(method.state_dict())
    assert resumed.queries([_problem()]) == [query]


def test_prefix_tokens_are_prompt_tokens_and_never_enter_the_loss(
    context: MethodContext,
    make_rollouts: MakeRollouts,
    token_logprobs: Callable[[Rollout], torch.Tensor],
) -> None:
    method = StepCoder(StepCoderConfig(fgo=False, whiten_advantages=False), context)
    (query,) = method.queries([_problem()])
    sampler = Sampler(context.model, context.tokenizer, SamplingConfig(max_new_tokens=5, seed=1))
    prompt = format_prompt(
        context.tokenizer, query.prompt, False, answer_prefix=query.answer_prefix
    )
    (samples,) = sampler.sample([prompt], n=2)
    prefix_ids = context.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert samples[0].prompt_ids == prefix_ids  # the canonical head is in the prompt's ids
    outcomes = make_rollouts([[(Status.PASSED, 1.0), (Status.WRONG_ANSWER, 0.0)]])
    rollouts = [
        Rollout(query, sample, other.verdict)
        for sample, other in zip(samples, outcomes, strict=True)
    ]
    scores = method.score(rollouts)
    for rollout, score in zip(rollouts, scores, strict=True):
        assert score.data["mask"].numel() == len(rollout.sample.completion_ids)
    output = method.loss(rollouts, scores)
    # first epoch: ratio 1, values 0 (zero-initialised head): the loss is
    # -mean_t A_t + value_coef * 0.5 * mean_t G_t^2 over the completions' tokens only
    advantages = torch.cat([s.data["advantages"] for s in scores])
    returns = torch.cat([s.data["returns"] for s in scores])
    expected = -advantages.mean() + 0.1 * 0.5 * (returns**2).mean()
    assert float(output.loss.detach()) == pytest.approx(float(expected), abs=1e-5)
    fresh = torch.cat([token_logprobs(r) for r in rollouts])
    assert torch.allclose(torch.cat([s.data["old_logprobs"] for s in scores]), fresh, atol=1e-5)


# ------------------------------------------------------------------------------- end to end

CONDITIONAL_TASKS = ("fizzbuzz_a_b", "is_prime", "fizzbuzz", "remove_duplicates", "gcd", "add_k")


def _run_config(output_dir: Path, *method: str) -> RunConfig:
    return load_run_config(
        None,
        [
            "model.name_or_path=tiny",
            "trainer.steps=2",
            "trainer.batch_prompts=4",
            "trainer.lr=0.001",
            "trainer.checkpoint_every=1",
            "trainer.eval_every=0",
            f"trainer.output_dir={output_dir}",
            "sampling.n=3",
            "sampling.max_new_tokens=24",
            "method.name=stepcoder",
            "method.ppo_epochs=2",
            *method,
        ],
    )


def _trainer(config: RunConfig, sandbox: SandboxHandle) -> Trainer:
    model, tokenizer = load_model(config.model)
    tasks = [
        task
        for task in load_dataset("crucible-basic", "train")
        if task.task_id.split("/")[1] in CONDITIONAL_TASKS
    ][:8]
    pairs = [(task.prompt, task.canonical_completion or "") for task in tasks]
    fine_tune(model, tokenizer, pairs, epochs=8, lr=3e-3, seed=0)
    method = load_method(config.method_name)
    settings = method_settings(config, method.config_class, "test")
    return Trainer(
        config, method, settings, to_problems(tasks), model, tokenizer, sandbox, show_progress=False
    )


def _rows(output_dir: Path) -> list[dict[str, float]]:
    lines = (output_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.slow  # ~15 s: SFT warm start, sampling, the jailed sandbox, 2 x 2 PPO epochs
def test_two_ppo_steps_train_and_a_resumed_run_gets_curricula_and_value_head_back(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    config = _run_config(tmp_path / "run")
    trainer = _trainer(config, sandbox)
    method = trainer.method
    assert isinstance(method, StepCoder)
    assert trainer.method.update_epochs() == 2
    before = [p.detach().clone() for p in trainer.model.parameters()]

    assert trainer.train().steps == 2

    rows = _rows(tmp_path / "run")
    assert [row["step"] for row in rows] == [1, 2]
    for row in rows:
        for key in ("loss", "policy_loss", "value_loss", "approx_kl"):
            assert torch.isfinite(torch.tensor(row[key])), key
        assert 0.0 <= row["fgo_masked_token_fraction"] <= 1.0
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    head_weight = method.value_head.linear.weight
    assert float(head_weight.detach().abs().sum()) > 0.0, "the value head never learned"
    staged = {key: state for key, state in method.curricula.items() if len(state.stages) > 1}
    assert staged, "no drawn problem had a curriculum"

    resumed = _trainer(config, sandbox)
    assert isinstance(resumed.method, StepCoder)
    assert resumed.method.curricula == {}
    # `crucible train --resume` skips the warm start: the new reference would be the base model
    reference = resumed.context.reference_model
    assert reference is not None and trainer.context.reference_model is not None
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.add_(1.0)
    assert resumed.resume() == 2
    for kept, original in zip(
        reference.parameters(), trainer.context.reference_model.parameters(), strict=True
    ):
        assert torch.equal(kept, original), "the resumed run's KL reference is not the run's start"
    assert resumed.method.state_dict()["curricula"] == method.state_dict()["curricula"]
    assert torch.equal(resumed.method.value_head.linear.weight, head_weight)
    # the optimiser still holds the restored head (restored in place, not replaced)
    held = {id(p) for group in resumed.optimizer.param_groups for p in group["params"]}
    assert id(resumed.method.value_head.linear.weight) in held


# ------------------------------------------------------------------ PPO under LoRA dropout


@pytest.mark.train
def test_ppo_under_lora_dropout_starts_every_batch_at_ratio_one(sandbox: SandboxHandle) -> None:
    model, tokenizer = load_model(ModelConfig(name_or_path="tiny", lora=LoraSettings(dropout=0.5)))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # adapters that act (lora_B starts at zero, hiding the dropout)
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
    context = MethodContext(model, tokenizer, torch.device("cpu"), 0, int(tokenizer.pad_token_id))
    method = StepCoder(StepCoderConfig(), context)
    (query,) = method.queries([_problem()])
    prompt = format_prompt(tokenizer, query.prompt, False, answer_prefix=query.answer_prefix)
    sampler = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=8, seed=0))
    (samples,) = sampler.sample([prompt], n=4)
    verdicts = sandbox.execute(
        [
            ExecuteRequest(
                source=sample.completion,
                prelude=query.program_prefix,
                tests=query.problem.tests,
                collect_coverage=True,
            )
            for sample in samples
        ]
    )
    rollouts = [Rollout(query, s, v) for s, v in zip(samples, verdicts, strict=True)]

    model.eval()  # the kernel scores in eval mode and learns in train mode
    scores = method.score(rollouts)
    model.train()
    ids = torch.tensor([samples[0].prompt_ids + samples[0].completion_ids])
    with torch.no_grad():
        assert not torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits), (
            "dropout does not act in train mode: the test would prove nothing"
        )
    output = method.loss(rollouts, scores)
    assert output.metrics["approx_kl"] == 0.0  # new log-probs == old ones, bit for bit
    assert output.metrics["clip_frac"] == 0.0
    assert model.training, "the loss must leave the model in the mode the kernel set"


# ------------------------------------------------------------------ CCCS through the Trainer

# A reference with three start points (the `if` lines): stages [5, 1, 0] (E = 3, stride 2).
CLASSIFY = Problem(
    problem_id="classify",
    prompt="def classify(n):\n",
    tests=[
        TestCase(body=AssertTest(code=f"assert classify({n}) == {label!r}"))
        for n, label in ((3, "Fizz"), (5, "Buzz"), (15, "FizzBuzz"), (7, "7"))
    ],
    program_prefix="def classify(n):\n",
    reference_solution=(
        '    label = ""\n'
        "    if n % 3 == 0:\n"
        '        label += "Fizz"\n'
        "    if n % 5 == 0:\n"
        '        label += "Buzz"\n'
        "    if not label:\n"
        "        label = str(n)\n"
        "    return label\n"
    ),
)


def _cccs_config(output_dir: Path, steps: int, chat: bool) -> RunConfig:
    return load_run_config(
        None,
        [
            "model.name_or_path=tiny",
            f"trainer.steps={steps}",
            "trainer.batch_prompts=1",
            "trainer.lr=0.00001",
            "trainer.checkpoint_every=1",
            "trainer.eval_every=0",
            f"trainer.output_dir={output_dir}",
            f"data.chat={str(chat).lower()}",
            "sampling.n=4",
            "sampling.temperature=0.2",
            "sampling.max_new_tokens=32",
            "method.name=stepcoder",
            "method.ppo_epochs=1",
        ],
    )


class _Seen:
    """What the kernel handed the sampler and the sandbox during a run (spies that forward
    every call to the real sampler and sandbox)."""

    def __init__(self, trainer: Trainer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.prompts: list[str] = []
        self.requests: list[ExecuteRequest] = []
        self.verdicts: list[Any] = []
        sample, submit = trainer.sampler.sample, trainer.sandbox.submit

        def sampled(prompts: Any, *args: Any, **kwargs: Any) -> Any:
            self.prompts += list(prompts)
            return sample(prompts, *args, **kwargs)

        def submitted(requests: Any) -> Any:
            futures = submit(requests)
            self.requests += list(requests)
            self.verdicts += futures
            return futures

        monkeypatch.setattr(trainer.sampler, "sample", sampled)
        monkeypatch.setattr(trainer.sandbox, "submit", submitted)


def _cccs_trainer(config: RunConfig, sandbox: SandboxHandle, warm: bool) -> Trainer:
    model, tokenizer = load_model(config.model)
    if warm:  # teach the tiny model the first stage's completion, so that stage passes
        prefix = answer_prefix(head(CLASSIFY.reference_solution, 5))
        prompt = format_prompt(tokenizer, CLASSIFY.prompt, config.data.chat, answer_prefix=prefix)
        pair = (prompt, CLASSIFY.reference_solution[len(prefix) :])
        fine_tune(model, tokenizer, [pair], epochs=30, lr=3e-3, seed=0)
    return Trainer(
        config,
        StepCoder,
        method_settings(config, StepCoderConfig, "test"),
        [CLASSIFY],
        model,
        tokenizer,
        sandbox,
        show_progress=False,
    )


def _check_stage(seen: _Seen, tokenizer: Any, chat: bool, lines: int) -> None:
    """Every prompt ends with the stage's head after the formatted task (inside the assistant's
    turn with a chat template), every prelude is the task's plus the same head, and verdict
    lines index the completion."""
    prefix = answer_prefix(head(CLASSIFY.reference_solution, lines))
    formatted = format_prompt(tokenizer, CLASSIFY.prompt, chat)
    assert seen.prompts and all(p == formatted + prefix for p in seen.prompts)
    if chat:
        assert formatted.endswith("<|im_start|>assistant\n"), formatted
        assert prefix not in formatted  # never inside the user's turn
    for request, future in zip(seen.requests, seen.verdicts, strict=True):
        assert request.prelude == CLASSIFY.program_prefix + prefix
        verdict = future.result()
        completion_lines = len(source_lines(request.source))
        assert all(1 <= line <= completion_lines for line in verdict.executed_lines)


@pytest.mark.slow  # ~30 s each: a warm start, then two one-step runs with the jailed sandbox
@pytest.mark.train
@pytest.mark.parametrize("chat", [False, True])
def test_cccs_stage_reaches_prompt_and_prelude_moves_past_rho_and_survives_resume(
    tmp_path: Path, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch, chat: bool
) -> None:
    points = start_points(CLASSIFY.reference_solution, CLASSIFY.program_prefix)
    assert points == [1, 3, 5] and curriculum(points) == [5, 1, 0]
    trainer = _cccs_trainer(_cccs_config(tmp_path / "run", 1, chat), sandbox, warm=True)
    seen = _Seen(trainer, monkeypatch)
    trainer.train()
    _check_stage(seen, trainer.tokenizer, chat, 5)
    passed = sum(future.result().status is Status.PASSED for future in seen.verdicts)
    assert passed / len(seen.verdicts) > 0.6, "the warm-started model should pass stage 1"
    state = trainer.method.state_dict()["curricula"]["classify"]
    assert (state["stage"], state["passed"], state["attempts"]) == (1, 0, 0)
    (row,) = _rows(tmp_path / "run")
    assert (row["cccs_stage_moves"], row["cccs_stage_mean"]) == (1.0, 2.0)
    # a completion after the first stage's head, in the completion's lines, not the program's:
    # its line 1 is the head's last line end (the newline the completion starts with), so the
    # first statement it wrote is line 2
    executed = [f.result().executed_lines for f in seen.verdicts if f.result().executed_lines]
    assert executed and all(min(lines) == 2 for lines in executed)

    resumed = _cccs_trainer(_cccs_config(tmp_path / "run", 2, chat), sandbox, warm=False)
    seen = _Seen(resumed, monkeypatch)
    assert resumed.train(resume=True).steps == 2
    _check_stage(seen, resumed.tokenizer, chat, 1)  # the moved stage, after a real resume
    assert [row["step"] for row in _rows(tmp_path / "run")] == [1, 2]
