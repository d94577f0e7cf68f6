"""RLTF: feedback spans on real failing programs run in the sandbox, reward tables, per-token
returns, the online buffer (eviction, refresh, checkpoint), the alternating losses on the tiny
model, and two training steps with a resume through the kernel's Trainer."""

from __future__ import annotations

import doctest
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

import crucible.methods.rltf.feedback as feedback_module
import crucible.methods.rltf.loss as loss_module
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import MethodContext, Problem, Rollout, Score, validate_plugin
from crucible.kernel.registry import load_method
from crucible.kernel.rewards import feedback_class
from crucible.kernel.run_config import RunConfig, load_run_config, method_settings
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import encode_pair, fine_tune, supervised_loss
from crucible.kernel.token_text import TokenBytes, decode_with_offsets
from crucible.methods.grpo.config import GRPOConfig
from crucible.methods.rltf import RLTF
from crucible.methods.rltf.buffer import OnlineBuffer
from crucible.methods.rltf.config import RLTFConfig
from crucible.methods.rltf.feedback import (
    penalty_span,
    program_reward,
    token_returns,
)
from crucible.methods.rltf.loss import token_weighted_loss
from crucible.sandbox_service.models import (
    AssertTest,
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    Status,
    Subtype,
    TestCase,
)

pytestmark = pytest.mark.train

MakeRollouts = Callable[..., list[Rollout]]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


# ----------------------------------------------------------- fine-grained spans, real programs

# (completion of `def f(x):`, status, class, the failing line whose tokens are penalised)
PROGRAMS = {
    "name_error": (
        "    y = x + 1\n    return undefined_name\n",
        Status.RUNTIME_ERROR,
        Subtype.LINE,
        2,
    ),
    "missing_module": (
        "    import no_such_module_xyz\n    return 1\n",
        Status.RUNTIME_ERROR,
        Subtype.LINE,
        1,
    ),
    "syntax_mid_program": (
        "    y = (x +* 2)\n    return y\n",
        Status.COMPILE_ERROR,
        Subtype.LINE,
        1,
    ),
    "never_closed_at_end": (
        "    y = 1\n    return (x +\n",
        Status.COMPILE_ERROR,
        Subtype.GLOBAL,
        0,
    ),
    "recursion": ("    return f(x)\n", Status.RUNTIME_ERROR, Subtype.GLOBAL, 0),
    "timeout": ("    while True:\n        pass\n", Status.TIME_LIMIT_EXCEEDED, Subtype.GLOBAL, 0),
    "unindent": ("    y = 1\n  return y\n", Status.COMPILE_ERROR, Subtype.IGNORE, 0),
    "empty_message": ("    raise ValueError\n", Status.RUNTIME_ERROR, Subtype.IGNORE, 0),
    "bare_runtime_error": (
        "    raise RuntimeError('no')\n",
        Status.RUNTIME_ERROR,
        Subtype.IGNORE,
        0,
    ),
    "wrong_answer": ("    return 0\n", Status.WRONG_ANSWER, Subtype.IGNORE, 0),
    "passes": ("    return 1\n", Status.PASSED, Subtype.IGNORE, 0),
}


@pytest.fixture(scope="module")
def verdicts(sandbox: SandboxHandle) -> dict[str, ExecuteResponse]:
    requests = [
        ExecuteRequest(
            request_id=name,
            source=source,
            prelude="def f(x):\n",
            tests=[TestCase(body=AssertTest(code="assert f(5) == 1"))],
            limits=Limits(cpu_time_limit_ms=500),
        )
        for name, (source, *_) in PROGRAMS.items()
    ]
    return dict(zip(PROGRAMS, sandbox.execute(requests), strict=True))


def _offsets(tokenizer: Any, text: str) -> list[tuple[int, int]]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    decoded, offsets = decode_with_offsets(TokenBytes(tokenizer), ids)
    assert decoded == text
    return offsets


def _touches_line(text: str, span: tuple[int, int], line: int) -> bool:
    """Whether characters [start, end) touch ``line``, counted directly from the text."""
    start, end = span
    first = text[:start].count("\n") + 1
    last = first + text[start : max(start, end - 1)].count("\n")
    return first <= line <= last


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_every_feedback_class_spans_the_right_tokens_of_a_real_program(
    name: str, verdicts: dict[str, ExecuteResponse], tiny: tuple[Any, Any]
) -> None:
    completion, status, kind, line = PROGRAMS[name]
    verdict = verdicts[name]
    assert verdict.status is status, verdict.error
    assert feedback_class(verdict) is kind
    offsets = _offsets(tiny[1], completion)
    span = penalty_span(verdict, offsets, completion)
    if kind is Subtype.GLOBAL:
        assert span == [True] * len(offsets)
    elif kind is Subtype.LINE:
        assert verdict.error is not None and verdict.error.line == line
        assert span == [_touches_line(completion, o, line) for o in offsets]
        assert 0 < sum(span) < len(span)
    else:
        assert span == [False] * len(offsets)


def test_a_line_error_outside_the_candidate_is_ignored(sandbox: SandboxHandle) -> None:
    # the test calls a function the candidate never defined: no frame lies in the candidate
    (verdict,) = sandbox.execute(
        [
            ExecuteRequest(
                source="    return 1\n",
                prelude="def f(x):\n",
                tests=[TestCase(body=AssertTest(code="assert g(5) == 1"))],
            )
        ]
    )
    assert verdict.status is Status.RUNTIME_ERROR
    assert feedback_class(verdict) is Subtype.IGNORE
    assert penalty_span(verdict, [(0, 4), (4, 13)], "    return 1\n") == [False, False]


# ---------------------------------------------------------------------------------- rewards


def test_coarse_and_adaptive_rewards_for_each_status(
    verdicts: dict[str, ExecuteResponse],
) -> None:
    expected = {
        "passes": 1.0,
        "wrong_answer": -0.3,
        "name_error": -0.6,
        "timeout": -0.6,
        "syntax_mid_program": -1.0,
    }
    for name, reward in expected.items():
        assert program_reward(verdicts[name], adaptive=False) == reward, name
        assert program_reward(verdicts[name], adaptive=True) == pytest.approx(reward), name


@pytest.mark.parametrize(("ratio", "reward"), [(0.0, -0.3), (0.5, 0.35), (1.0, 1.0)])
def test_the_adaptive_reward_of_a_failing_program_grows_with_its_pass_ratio(
    verdicts: dict[str, ExecuteResponse], ratio: float, reward: float
) -> None:
    failing = verdicts["wrong_answer"].model_copy(update={"pass_ratio": ratio})
    assert program_reward(failing, adaptive=True) == pytest.approx(reward)
    assert program_reward(failing, adaptive=False) == -0.3


def test_token_returns_subtract_the_penalty_on_the_span_and_the_greedy_reward() -> None:
    assert token_returns(-0.6, -1.0, [False, True, True], 0.3) == pytest.approx([0.4, 0.1, 0.1])
    assert token_returns(1.0, 1.0, [False, False], 0.3) == [0.0, 0.0]
    assert token_returns(-0.3, -0.3, [], 0.3) == []


def test_the_rl_loss_is_minus_the_token_mean_of_return_times_logprob() -> None:
    logprobs = [torch.tensor([-1.0, -2.0]), torch.tensor([-0.5])]
    # -(-1 * 0.5 + -2 * 1 + -0.5 * -2) / 3 = -(-0.5 - 2 + 1) / 3 = 0.5
    assert float(token_weighted_loss(logprobs, [[0.5, 1.0], [-2.0]])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="completion 1 has 1 tokens but 2 returns"):
        token_weighted_loss(logprobs, [[0.5, 1.0], [1.0, 1.0]])


def test_the_modules_examples_run() -> None:
    for module in (feedback_module, loss_module):
        result = doctest.testmod(module)
        assert result.attempted >= 1 and result.failed == 0, module.__name__


# ----------------------------------------------------------------------------------- config


def test_every_setting_is_described_and_the_defaults_are_the_authors() -> None:
    for name, field in RLTFConfig.model_fields.items():
        assert field.description, f"RLTFConfig.{name} has no description"
    config = RLTFConfig()
    assert (config.fine_grained, config.adaptive, config.fine_grained_penalty) == (True, True, 0.3)
    assert (config.buffer_capacity, config.refresh_every, config.supervised_steps) == (
        6400,
        50,
        True,
    )


@pytest.mark.parametrize(
    "section", [{"buffer_capacity": 0}, {"refresh_every": 0}, {"penalty": 0.3}]
)
def test_bad_settings_are_rejected(section: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        RLTFConfig.model_validate(section)


def test_the_plugin_is_registered_and_valid(context: MethodContext) -> None:
    assert load_method("rltf") is RLTF
    assert validate_plugin(RLTF, "test") is RLTF
    assert RLTF.needs_greedy_baseline
    assert RLTF(RLTFConfig(weight_reload_every=7), context).sampler_refresh_every() == 7
    with pytest.raises(TypeError, match="needs settings of type RLTFConfig, got GRPOConfig"):
        RLTF(GRPOConfig(), context)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- scoring


def test_score_subtracts_the_greedy_baseline_and_penalises_the_span(
    make_rollouts: MakeRollouts, context: MethodContext, verdicts: dict[str, ExecuteResponse]
) -> None:
    sampled = make_rollouts([[(Status.PASSED, 1.0), (Status.WRONG_ANSWER, 0.5)]])
    # the second sample failed with a real NameError on its completion's line 1
    line_error = verdicts["name_error"].model_copy(
        update={"error": verdicts["name_error"].error.model_copy(update={"line": 1})}  # type: ignore[union-attr]
    )
    sampled[1] = Rollout(sampled[1].query, sampled[1].sample, line_error)
    greedy = Rollout(sampled[0].query, sampled[0].sample, verdicts["wrong_answer"], greedy=True)
    scores = RLTF(RLTFConfig(), context).score([*sampled, greedy])
    assert [s.reward for s in scores] == pytest.approx([1.0, -0.6, -0.3])
    assert [s.advantage for s in scores[:2]] == pytest.approx([1.3, -0.3])
    assert scores[2].advantage is None
    assert scores[0].token_weights == pytest.approx([1.3] * len(sampled[0].sample.offsets))
    sample = sampled[1].sample
    on_line = [_touches_line(sample.completion, o, 1) for o in sample.offsets]
    assert any(on_line)
    assert scores[1].token_weights == pytest.approx([-0.6 if m else -0.3 for m in on_line])
    assert scores[2].token_weights is None

    coarse = RLTF(RLTFConfig(fine_grained=False), context).score([*sampled, greedy])
    assert coarse[1].token_weights == pytest.approx([-0.3] * len(sample.offsets))


def _rollout(tokenizer: Any, completion: str, verdict: ExecuteResponse, greedy: bool) -> Rollout:
    """A rollout of ``completion`` (a continuation of ``def f(x):``) tokenised by the real
    tokenizer, with the sandbox's verdict on it."""
    from crucible.kernel.plugin import Query
    from crucible.kernel.sampler import Sample

    prompt = "def f(x):\n"
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    problem = Problem(
        problem_id="f",
        prompt=prompt,
        tests=[TestCase(body=AssertTest(code="assert f(5) == 1"))],
        program_prefix=prompt,
    )
    sample = Sample(
        prompt=prompt,
        completion=completion,
        prompt_ids=tokenizer(prompt)["input_ids"],
        completion_ids=ids,
        logprobs=torch.zeros(len(ids)),
        offsets=_offsets(tokenizer, completion),
        finish_reason="stop",
    )
    return Rollout(Query(problem, prompt, prompt), sample, verdict, greedy=greedy)


@pytest.mark.parametrize("name", ["name_error", "syntax_mid_program", "recursion", "unindent"])
def test_the_penalty_falls_on_the_failing_lines_tokens_every_token_or_none(
    name: str,
    verdicts: dict[str, ExecuteResponse],
    tiny: tuple[Any, Any],
    context: MethodContext,
) -> None:
    """Through the plugin's score, on the sandbox's verdict of a real program: the 0.3 penalty
    is what separates a token's return from R - R_greedy."""
    completion, _, kind, line = PROGRAMS[name]
    tokenizer = tiny[1]
    sampled = _rollout(tokenizer, completion, verdicts[name], greedy=False)
    greedy = _rollout(tokenizer, PROGRAMS["wrong_answer"][0], verdicts["wrong_answer"], True)
    score, _ = RLTF(RLTFConfig(), context).score([sampled, greedy])
    assert score.token_weights is not None and score.advantage is not None
    penalties = [score.advantage - weight for weight in score.token_weights]
    offsets = sampled.sample.offsets
    if kind is Subtype.LINE:
        expected = [0.3 if _touches_line(completion, o, line) else 0.0 for o in offsets]
        assert 0 < expected.count(0.3) < len(expected)
    else:
        expected = [0.3 if kind is Subtype.GLOBAL else 0.0] * len(offsets)
    assert penalties == pytest.approx(expected)
    assert score.data["feedback"] == kind.value


def test_the_step_reports_the_share_of_failing_samples_with_each_span(
    verdicts: dict[str, ExecuteResponse], tiny: tuple[Any, Any], context: MethodContext
) -> None:
    """Five real programs: a LINE error, a GLOBAL one, a wrong answer (IGNORE), an unindent
    (IGNORE) and a pass (not failing). Of the four failing samples one has a LINE span and one
    a GLOBAL span; with fine-grained feedback off neither has."""
    tokenizer = tiny[1]
    names = ["name_error", "recursion", "wrong_answer", "unindent", "passes"]
    rollouts = [_rollout(tokenizer, PROGRAMS[n][0], verdicts[n], greedy=False) for n in names]
    rollouts.append(_rollout(tokenizer, PROGRAMS["passes"][0], verdicts["passes"], greedy=True))
    for config, line, whole in ((RLTFConfig(), 0.25, 0.25), (RLTFConfig(fine_grained=False), 0, 0)):
        method = RLTF(config, context)
        metrics = method.observe(rollouts, method.score(rollouts))
        assert metrics["line_penalty_fraction"] == line
        assert metrics["global_penalty_fraction"] == whole


def test_a_sample_without_its_greedy_baseline_is_an_error(
    make_rollouts: MakeRollouts, context: MethodContext
) -> None:
    with pytest.raises(ValueError, match="no greedy baseline among the rollouts for problem 'p0'"):
        RLTF(RLTFConfig(), context).score(make_rollouts([[(Status.PASSED, 1.0)]]))


# ----------------------------------------------------------------------------------- buffer


def _scored(make_rollouts: MakeRollouts, count: int) -> tuple[list[Rollout], list[Score]]:
    rollouts = make_rollouts([[(Status.WRONG_ANSWER, 0.25)] * count])
    scores = [
        Score(reward=-0.3, advantage=float(i), token_weights=[float(i)] * len(r.sample.offsets))
        for i, r in enumerate(rollouts)
    ]
    return rollouts, scores


def test_the_buffer_evicts_oldest_first_and_the_dataset_changes_only_on_refresh(
    make_rollouts: MakeRollouts,
) -> None:
    rollouts, scores = _scored(make_rollouts, 5)
    buffer = OnlineBuffer(capacity=3)
    buffer.push(rollouts[:2], scores[:2])
    buffer.refresh()
    buffer.push(rollouts[2:], scores[2:])
    assert buffer.ids() == [2, 3, 4]  # 0 and 1, the oldest, fell out
    assert len(buffer) == 3
    assert [entry_id for entry_id, _, _ in buffer.snapshot] == [0, 1]  # not refreshed yet
    drawn, drawn_scores, reuse = buffer.draw(5, random.Random(0))
    assert sorted(s.advantage or 0.0 for s in drawn_scores) == [0.0, 1.0]
    assert {id(r) for r in drawn} == {id(rollouts[0]), id(rollouts[1])}
    assert reuse == [1, 1]
    buffer.refresh()
    _, drawn_scores, _ = buffer.draw(2, random.Random(0))
    assert len(drawn_scores) == 2 and {s.advantage for s in drawn_scores} <= {2.0, 3.0, 4.0}
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        OnlineBuffer(0)
    with pytest.raises(ValueError, match="learner's dataset is empty"):
        OnlineBuffer(2).draw(1, random.Random(0))


def test_the_buffer_round_trips_through_json(make_rollouts: MakeRollouts) -> None:
    rollouts, scores = _scored(make_rollouts, 4)
    buffer = OnlineBuffer(capacity=3)
    buffer.push(rollouts[:2], scores[:2])
    buffer.refresh()
    buffer.push(rollouts[2:], scores[2:])
    restored = OnlineBuffer(capacity=3)
    restored.load_state_dict(json.loads(json.dumps(buffer.state_dict())))
    assert restored.ids() == [1, 2, 3] and restored.next_id == 4
    for (a_id, a, a_score), (b_id, b, b_score) in zip(
        [*buffer.entries, *buffer.snapshot], [*restored.entries, *restored.snapshot], strict=True
    ):
        assert a_id == b_id
        assert a.query == b.query and a.verdict == b.verdict and a.greedy == b.greedy
        assert a.sample.completion_ids == b.sample.completion_ids
        assert a.sample.offsets == b.sample.offsets
        assert torch.equal(a.sample.logprobs, b.sample.logprobs)
        assert a_score == b_score
    assert buffer.draw(1, random.Random(5))[1:] == restored.draw(1, random.Random(5))[1:]
    assert buffer.state_dict()["pending"] == restored.state_dict()["pending"] != []
    assert buffer.draw(3, random.Random(6))[1:] == restored.draw(3, random.Random(6))[1:]


def test_the_learner_iterates_its_dataset_in_passes_and_counts_each_draw(
    make_rollouts: MakeRollouts,
) -> None:
    rollouts, scores = _scored(make_rollouts, 5)
    buffer = OnlineBuffer(capacity=8)
    buffer.push(rollouts, scores)
    buffer.refresh()
    rng = random.Random(0)
    batches = [buffer.draw(2, rng) for _ in range(3)]
    first_pass = [s.advantage for _, drawn, _ in batches[:2] for s in drawn]
    assert len(set(first_pass)) == 4  # two batches of one pass share no entry
    last = [s.advantage for s in batches[2][1]]
    assert len(set(last)) == 2  # never one entry twice in a batch, across passes either
    assert batches[0][2] == batches[1][2] == [1, 1]
    # the fifth entry ends the first pass (drawn once); the other is from the second pass
    assert sorted(batches[2][2]) == [1, 2]


# ------------------------------------------------------------------------------------ losses


def test_even_steps_are_supervised_on_references_and_odd_steps_are_rl(
    make_rollouts: MakeRollouts,
    context: MethodContext,
    token_logprobs: Callable[[Rollout], torch.Tensor],
) -> None:
    rollouts, scores = _scored(make_rollouts, 2)
    problem = rollouts[0].query.problem.model_copy(update={"reference_solution": "    return 0\n"})
    query = type(rollouts[0].query)(problem, rollouts[0].query.prompt, problem.program_prefix)
    rollouts = [Rollout(query, r.sample, r.verdict) for r in rollouts]
    method = RLTF(RLTFConfig(), context)

    assert method.supervised_step
    supervised = method.loss(rollouts, scores)
    pair = encode_pair(context.tokenizer, rollouts[0].sample.prompt, "    return 0\n")
    expected = supervised_loss(context.model, [pair], context.pad_token_id)
    assert float(supervised.loss.detach()) == pytest.approx(float(expected.detach()), abs=1e-6)
    assert supervised.metrics["supervised"] == 1.0

    method.observe(rollouts, scores)
    assert not method.supervised_step
    rl = method.loss(rollouts, scores)
    terms = [
        -token_logprobs(r) * torch.tensor(s.token_weights or [])
        for r, s in zip(rollouts, scores, strict=True)
    ]
    expected_rl = torch.cat(terms).sum() / sum(t.numel() for t in terms)
    assert float(rl.loss.detach()) == pytest.approx(float(expected_rl), abs=1e-5)
    assert rl.metrics["supervised"] == 0.0
    assert RLTF(RLTFConfig(supervised_steps=False), context).supervised_step is False


# ------------------------------------------------------------------------------- end to end


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
            "sampling.temperature=0.6",
            "sampling.top_p=0.95",
            "sampling.max_new_tokens=24",
            "method.name=rltf",
            "method.refresh_every=1",
            "method.weight_reload_every=2",
            "method.buffer_capacity=16",
            *method,
        ],
    )


def _trainer(config: RunConfig, sandbox: SandboxHandle) -> Trainer:
    model, tokenizer = load_model(config.model)
    tasks = load_dataset("crucible-basic", "train")[:8]
    pairs = [(task.prompt, task.canonical_completion or "") for task in tasks]
    fine_tune(model, tokenizer, pairs, epochs=8, lr=3e-3, seed=0)
    method = load_method(config.method_name)
    settings = method_settings(config, method.config_class, "test")
    return Trainer(
        config, method, settings, to_problems(tasks), model, tokenizer, sandbox, show_progress=False
    )


@pytest.mark.slow  # ~10 s: SFT warm start, sampling + greedy baselines, the jailed sandbox
def test_two_steps_alternate_losses_and_a_resumed_run_gets_the_buffer_back(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    config = _run_config(tmp_path / "run")
    trainer = _trainer(config, sandbox)
    method = trainer.method
    assert isinstance(method, RLTF)
    assert trainer.generator is not trainer.model  # generation runs on a reloaded copy
    before = [p.detach().clone() for p in trainer.model.parameters()]

    assert trainer.train().steps == 2

    rows = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert [row["supervised"] for row in rows] == [1.0, 0.0]
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in rows)
    assert "sft_loss" in rows[0] and "rl_loss" in rows[1]
    assert [row["buffer_size"] for row in rows] == [12.0, 16.0]  # 4 prompts x 3, capacity 16
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    # the generator still holds the weights of step 0 (reloaded every 2 steps)
    generator = dict(trainer.generator.named_parameters())
    assert any(not torch.equal(generator[n], p) for n, p in trainer.model.named_parameters())

    resumed = _trainer(config, sandbox)
    assert isinstance(resumed.method, RLTF)
    assert resumed.resume() == 2
    assert resumed.method.steps_done == 2
    assert resumed.method.buffer.ids() == method.buffer.ids() == list(range(8, 24))
    assert [i for i, _, _ in resumed.method.buffer.snapshot] == list(range(8, 24))
    assert resumed.method.supervised_step


@pytest.mark.slow  # ~10 s: SFT warm start, a prefilled pool, three steps in the jailed sandbox
def test_the_first_learner_batch_draws_from_a_pool_and_no_sample_is_drawn_twice_in_a_period(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    """refresh_every 3, 2 prompts x 2 samples a step: the default pool (2 rounds of the starting
    model) plus step 0's samples make the first learner dataset 12 samples, so the 3 learner
    batches of the refresh period take each once. Without the pool every batch of the period
    would come from step 0's 4 samples (each drawn 3 times)."""
    config = _run_config(
        tmp_path / "run",
        "trainer.steps=3",
        "trainer.batch_prompts=2",
        "trainer.checkpoint_every=3",
        "sampling.n=2",
        "method.refresh_every=3",
        "method.weight_reload_every=1",
        "method.buffer_capacity=64",
    )
    trainer = _trainer(config, sandbox)
    method = trainer.method
    assert isinstance(method, RLTF) and method.prefill_rounds() == 2

    result = trainer.train()

    rows = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert [row["buffer_size"] for row in rows] == [12.0, 16.0, 20.0]  # 8 pooled before step 1
    assert [entry_id for entry_id, _, _ in method.buffer.snapshot] == list(range(12))
    assert method.buffer.draws == dict.fromkeys(range(12), 1)
    assert [row["buffer_reuse_mean"] for row in rows] == [1.0, 1.0, 1.0]
    for row in rows:
        assert 0.0 <= row["line_penalty_fraction"] + row["global_penalty_fraction"] <= 1.0
    assert set(result.activity) == set(RLTF.activity_metrics)
    assert result.activity["buffer_reuse_mean"] == 1.0
