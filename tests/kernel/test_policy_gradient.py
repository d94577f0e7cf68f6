"""The group-baselined policy gradient GRPO and REINFORCE share (kernel.policy_gradient): the
grouping, the advantages and the loss on hand-computed numbers, and the loss's direction."""

from __future__ import annotations

import doctest

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

import crucible.kernel.policy_gradient as policy_gradient_module
from crucible.kernel.plugin import Problem, Query, Rollout
from crucible.kernel.policy_gradient import group_advantages, policy_gradient_loss, prompt_key
from crucible.kernel.sampler import Sample
from crucible.sandbox_service.models import ExecuteResponse, Status

pytestmark = [pytest.mark.train]

# --------------------------------------------------------------------------------- advantages


def test_unscaled_advantages_subtract_each_groups_mean_reward() -> None:
    # group a: 1, -0.3 (mean 0.35); group b: -0.6, -1 (mean -0.8); interleaved on purpose
    advantages = group_advantages([1.0, -0.6, -0.3, -1.0], ["a", "b", "a", "b"])
    assert advantages == pytest.approx([0.65, 0.2, -0.65, -0.2])


def test_scaled_advantages_divide_by_the_group_population_std_plus_epsilon() -> None:
    # population std: group 0 = 0.65, group 1 = 0.2
    advantages = group_advantages([1.0, -0.6, -0.3, -1.0], [0, 1, 0, 1], std_epsilon=1e-4)
    assert advantages == pytest.approx(
        [0.65 / 0.6501, 0.2 / 0.2001, -0.65 / 0.6501, -0.2 / 0.2001], rel=1e-9
    )


@pytest.mark.parametrize("std_epsilon", [1e-4, None])
def test_identical_rewards_and_lone_samples_get_zero_advantage(std_epsilon: float | None) -> None:
    advantages = group_advantages(
        [-0.3, -0.3, -0.3, 1.0, -1.0, 0.4], [7, 7, 7, 8, 8, 9], std_epsilon=std_epsilon
    )
    assert advantages[:3] == [0.0, 0.0, 0.0] and advantages[5] == 0.0
    assert advantages[3] > 0 > advantages[4]


def _rollout(problem_id: str, prompt: str, prefix: str) -> Rollout:
    problem = Problem(problem_id=problem_id, prompt=prompt, tests=[])
    sample = Sample(
        prompt=prompt,
        completion="",
        prompt_ids=[],
        completion_ids=[],
        logprobs=torch.zeros(0),
        offsets=[],
        finish_reason="eos",
    )
    verdict = ExecuteResponse.model_construct(status=Status.PASSED)  # grouping never reads it
    return Rollout(Query(problem, prompt, prefix), sample, verdict)


def test_rollouts_group_by_problem_prompt_and_prefix_not_by_query_object() -> None:
    same = [_rollout("p", "def f():", ""), _rollout("p", "def f():", "")]
    assert same[0].query is not same[1].query
    assert prompt_key(same[0]) == prompt_key(same[1])
    others = [
        _rollout("q", "def f():", ""),
        _rollout("p", "def g():", ""),
        _rollout("p", "def f():", "x=1\n"),
    ]
    assert len({prompt_key(r) for r in [same[0], *others]}) == 4


# ------------------------------------------------------------------------------------- loss


def test_token_normalisation_averages_over_all_tokens() -> None:
    logprobs = [torch.tensor([-1.0, -2.0]), torch.tensor([-3.0])]
    # terms: -1 * [-1, -2] = [1, 2]; -(-2) * [-3] = [-6]; token mean = (1 + 2 - 6) / 3
    assert float(policy_gradient_loss(logprobs, [1.0, -2.0], "token")) == pytest.approx(-1.0)


def test_sequence_normalisation_averages_per_completion_first() -> None:
    logprobs = [torch.tensor([-1.0, -2.0]), torch.tensor([-3.0])]
    # per completion: mean(1, 2) = 1.5 and -6; then (1.5 - 6) / 2
    assert float(policy_gradient_loss(logprobs, [1.0, -2.0], "sequence")) == pytest.approx(-2.25)


def test_an_empty_completion_adds_no_tokens_to_the_token_mean() -> None:
    logprobs = [torch.zeros(0), torch.tensor([-2.0])]
    assert float(policy_gradient_loss(logprobs, [5.0, 1.0], "token")) == pytest.approx(2.0)


@pytest.mark.parametrize("normalization", ["token", "sequence"])
@pytest.mark.parametrize("advantage", [0.7, -0.7])
def test_a_descent_step_moves_log_prob_in_the_advantages_direction(
    normalization: str, advantage: float
) -> None:
    logits = torch.zeros(4, requires_grad=True)
    before = float(torch.log_softmax(logits.detach(), -1)[2])
    loss = policy_gradient_loss(
        [torch.log_softmax(logits, -1)[2:3]],
        [advantage],
        normalization,  # type: ignore[arg-type]
    )
    loss.backward()
    assert logits.grad is not None
    with torch.no_grad():
        logits -= 0.5 * logits.grad
    after = float(torch.log_softmax(logits.detach(), -1)[2])
    assert (after - before) * advantage > 0


def test_zero_advantages_give_a_zero_gradient() -> None:
    logits = torch.randn(5, requires_grad=True)
    policy_gradient_loss([torch.log_softmax(logits, -1)[:3]], [0.0], "token").backward()
    assert logits.grad is not None and torch.equal(logits.grad, torch.zeros(5))


def test_the_modules_examples_run() -> None:
    result = doctest.testmod(policy_gradient_module)
    assert result.attempted >= 3 and result.failed == 0
