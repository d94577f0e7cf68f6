"""REINFORCE (the example plugin): its pure functions on hand-computed numbers, its hooks on real
rollouts of the tiny model, and two training steps through the kernel's Trainer."""

from __future__ import annotations

import doctest
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pydantic
import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

import crucible.methods.reinforce.loss as reinforce_loss_module
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import MethodContext, Query, Rollout, validate_plugin
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import RunConfig, load_run_config, method_settings
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import fine_tune
from crucible.methods.grpo.config import GRPOConfig
from crucible.methods.reinforce import Reinforce
from crucible.methods.reinforce.config import ReinforceConfig
from crucible.methods.reinforce.loss import moving_average
from crucible.sandbox_service.models import Status

pytestmark = pytest.mark.train

# ------------------------------------------------------------------------------- pure functions


def test_moving_average_starts_at_the_first_mean_then_decays() -> None:
    first = moving_average(None, [1.0, -0.6], decay=0.9)
    assert first == pytest.approx(0.2)
    assert moving_average(first, [-1.0, -1.0], decay=0.9) == pytest.approx(0.9 * 0.2 - 0.1)
    assert moving_average(first, [-1.0], decay=0.0) == -1.0
    with pytest.raises(ValueError, match="at least one reward"):
        moving_average(first, [], decay=0.9)


def test_the_loss_modules_examples_run() -> None:
    result = doctest.testmod(reinforce_loss_module)
    assert result.attempted >= 2 and result.failed == 0


# ----------------------------------------------------------------------------------- config


def test_every_setting_has_a_description_and_defaults_are_the_documented_ones() -> None:
    for name, field in ReinforceConfig.model_fields.items():
        assert field.description, f"ReinforceConfig.{name} has no description"
    config = ReinforceConfig()
    assert (config.reward, config.baseline, config.baseline_decay) == ("coarse", "prompt_mean", 0.9)


@pytest.mark.parametrize(
    "section",
    [{"baseline": "greedy"}, {"baseline_decay": 1.0}, {"reward": "dense"}, {"lr": 1.0}],
)
def test_bad_settings_are_rejected(section: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ReinforceConfig.model_validate(section)


def test_the_plugin_is_registered_and_valid() -> None:
    assert load_method("reinforce") is Reinforce
    assert validate_plugin(Reinforce, "test") is Reinforce


def test_a_config_of_another_method_is_refused(context: MethodContext) -> None:
    with pytest.raises(TypeError, match="needs settings of type ReinforceConfig, got GRPOConfig"):
        Reinforce(GRPOConfig(), context)


# ------------------------------------------------------------------------------------ hooks

MakeRollouts = Callable[..., list[Rollout]]
OUTCOMES = [
    [(Status.PASSED, 1.0), (Status.WRONG_ANSWER, 0.5)],
    [(Status.RUNTIME_ERROR, 0.0), (Status.COMPILE_ERROR, 0.0)],
]


def test_score_uses_the_coarse_table_and_the_prompt_mean(
    make_rollouts: MakeRollouts, context: MethodContext
) -> None:
    scores = Reinforce(ReinforceConfig(), context).score(make_rollouts(OUTCOMES))
    assert [s.reward for s in scores] == [1.0, -0.3, -0.6, -1.0]
    assert [s.advantage for s in scores] == pytest.approx([0.65, -0.65, 0.2, -0.2])


def test_score_with_the_adaptive_table_credits_partial_passes(
    make_rollouts: MakeRollouts, context: MethodContext
) -> None:
    scores = Reinforce(ReinforceConfig(reward="adaptive"), context).score(make_rollouts(OUTCOMES))
    assert [s.reward for s in scores] == pytest.approx([1.0, -0.3 + 1.3 * 0.5, -0.6, -1.0])
    assert [s.advantage for s in scores] == pytest.approx([0.325, -0.325, 0.2, -0.2])


def test_without_a_baseline_the_advantage_is_the_reward(
    make_rollouts: MakeRollouts, context: MethodContext
) -> None:
    scores = Reinforce(ReinforceConfig(baseline="none"), context).score(make_rollouts(OUTCOMES))
    assert [s.advantage for s in scores] == [1.0, -0.3, -0.6, -1.0]


def test_the_same_problem_drawn_twice_shares_one_baseline(
    make_rollouts: MakeRollouts, context: MethodContext
) -> None:
    first, second = make_rollouts([[(Status.PASSED, 1.0)], [(Status.COMPILE_ERROR, 0.0)]])
    query = first.query
    redrawn = Query(query.problem, query.prompt, query.program_prefix)  # another object
    other_prompt = Query(query.problem, query.prompt + "    ", query.program_prefix)
    rollouts = [
        first,
        Rollout(redrawn, second.sample, second.verdict),
        Rollout(other_prompt, second.sample, second.verdict),
    ]
    scores = Reinforce(ReinforceConfig(), context).score(rollouts)
    assert [s.advantage for s in scores] == pytest.approx([1.0, -1.0, 0.0])


def test_moving_average_baseline_is_state_that_observe_updates_and_checkpoints_carry(
    make_rollouts: MakeRollouts, context: MethodContext
) -> None:
    config = ReinforceConfig(baseline="moving_average", baseline_decay=0.5)
    rollouts = make_rollouts(OUTCOMES)  # rewards 1, -0.3, -0.6, -1: mean -0.225
    method = Reinforce(config, context)
    first = method.score(rollouts)  # no past yet: this step's mean
    assert [s.advantage for s in first] == pytest.approx([1.225, -0.075, -0.375, -0.775])
    assert method.observe(rollouts, first) == {"baseline": pytest.approx(-0.225)}
    rollouts = make_rollouts([[(Status.PASSED, 1.0)] * 2] * 2)  # scored against b = -0.225
    second = method.score(rollouts)
    assert [s.advantage for s in second] == pytest.approx([1.225] * 4)

    state = json.loads(json.dumps(method.state_dict()))  # JSON-able
    resumed = Reinforce(config, context)
    resumed.load_state_dict(state)
    assert [s.advantage for s in resumed.score(rollouts)] == [s.advantage for s in second]
    method.observe(rollouts, second)
    assert method.state_dict()["moving_baseline"] == pytest.approx(0.5 * -0.225 + 0.5 * 1.0)


def test_prompt_mean_keeps_no_state(make_rollouts: MakeRollouts, context: MethodContext) -> None:
    method = Reinforce(ReinforceConfig(), context)
    rollouts = make_rollouts(OUTCOMES)
    assert method.observe(rollouts, method.score(rollouts)) == {}
    assert method.state_dict() == {"moving_baseline": None}


def test_loss_is_minus_token_mean_of_advantage_times_logprob_on_the_tiny_model(
    make_rollouts: MakeRollouts,
    context: MethodContext,
    token_logprobs: Callable[[Rollout], torch.Tensor],
) -> None:
    rollouts = make_rollouts(
        [
            [(Status.PASSED, 1.0), (Status.WRONG_ANSWER, 0.0), (Status.COMPILE_ERROR, 0.0)],
            [(Status.COMPILE_ERROR, 0.0)] * 3,
        ]
    )
    method = Reinforce(ReinforceConfig(), context)
    scores = method.score(rollouts)
    output = method.loss(rollouts, scores)

    terms = [-s.advantage * token_logprobs(r) for s, r in zip(scores, rollouts, strict=True)]
    expected = torch.cat(terms).sum() / sum(t.numel() for t in terms)
    assert float(output.loss) == pytest.approx(float(expected), abs=1e-5)
    assert float(output.loss) != 0.0
    assert output.loss.requires_grad
    assert output.metrics == {"advantage_nonzero_frac": 0.5}  # the second prompt's are all 0


# ------------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


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
            "sampling.n=4",
            "sampling.max_new_tokens=24",
            "method.name=reinforce",
            *method,
        ],
    )


def _trainer(config: RunConfig, sandbox: SandboxHandle) -> Trainer:
    model, tokenizer = load_model(config.model)
    tasks = load_dataset("crucible-basic", "train")[:8]
    # A short warm start, so that some programs compile and some advantages are not zero.
    pairs = [(task.prompt, task.canonical_completion or "") for task in tasks]
    fine_tune(model, tokenizer, pairs, epochs=8, lr=3e-3, seed=0)
    method = load_method(config.method_name)
    settings = method_settings(config, method.config_class, "test")
    problems = to_problems(tasks)
    return Trainer(
        config, method, settings, problems, model, tokenizer, sandbox, show_progress=False
    )


def _rows(output_dir: Path) -> list[dict[str, float]]:
    lines = (output_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.slow  # ~6 s: sampling, the jailed sandbox and two optimiser steps
def test_two_training_steps_change_the_model_and_log_two_rows(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    trainer = _trainer(_run_config(tmp_path / "run"), sandbox)
    assert isinstance(trainer.method, Reinforce)
    assert trainer.config.trainer.weight_decay == 0.0  # so only the loss can move parameters
    before = [p.detach().clone() for p in trainer.model.parameters()]

    result = trainer.train()

    assert result.steps == 2
    rows = _rows(tmp_path / "run")
    assert [row["step"] for row in rows] == [1, 2]
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in rows)
    assert any(row["advantage_nonzero_frac"] > 0 for row in rows), "no learning signal at all"
    changed = [
        not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True)
    ]
    assert any(changed), "two REINFORCE steps left every parameter unchanged"


@pytest.mark.slow
def test_a_resumed_run_gets_the_moving_baseline_back(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    config = _run_config(tmp_path / "run", "method.baseline=moving_average")
    trainer = _trainer(config, sandbox)
    trainer.train()
    assert isinstance(trainer.method, Reinforce)
    baseline = trainer.method.moving_baseline
    assert baseline is not None
    assert [row["baseline"] for row in _rows(tmp_path / "run")][-1] == pytest.approx(baseline)

    resumed = _trainer(config, sandbox)
    assert isinstance(resumed.method, Reinforce)
    assert resumed.method.moving_baseline is None
    assert resumed.resume() == 2
    assert resumed.method.moving_baseline == baseline
