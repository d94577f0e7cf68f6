"""GRPO as a kernel plugin: thin glue between the kernel's hooks and ``loss.py``.

The kernel's own policy-gradient step is used rather than trl's ``GRPOTrainer``: the rollouts come
from the kernel's sampler and sandbox (overlapped with generation), checkpoints must carry the
kernel's resume state, and the same step serves the methods whose per-token weights trl cannot
take without subclassing private methods. ``tests/methods/test_grpo.py`` pins this choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from crucible.kernel.plugin import LossOutput, Method, Rollout, Score
from crucible.kernel.policy import completion_logprobs
from crucible.kernel.rewards import adaptive_reward, coarse_reward
from crucible.methods.grpo.config import GRPOConfig
from crucible.methods.grpo.loss import group_advantages, policy_loss


class GRPO(Method):
    """Group-relative advantages over the n samples of each prompt."""

    name: ClassVar[str] = "grpo"
    config_class: ClassVar[type[GRPOConfig]] = GRPOConfig

    @property
    def settings(self) -> GRPOConfig:
        assert isinstance(self.config, GRPOConfig)
        return self.config

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        reward_of = adaptive_reward if self.settings.reward == "adaptive" else coarse_reward
        rewards = [reward_of(rollout.verdict) for rollout in rollouts]
        group_ids = {id(rollout.query): index for index, rollout in enumerate(rollouts)}
        groups = [group_ids[id(rollout.query)] for rollout in rollouts]
        advantages = group_advantages(
            rewards, groups, scale=self.settings.scale_rewards, epsilon=self.settings.epsilon
        )
        return [
            Score(reward=reward, advantage=advantage)
            for reward, advantage in zip(rewards, advantages, strict=True)
        ]

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        logprobs, _ = completion_logprobs(
            self.context.model,
            [rollout.sample.prompt_ids for rollout in rollouts],
            [rollout.sample.completion_ids for rollout in rollouts],
            self.context.pad_token_id,
        )
        advantages = [score.advantage or 0.0 for score in scores]
        loss = policy_loss(logprobs, advantages, self.settings.loss_normalization)
        nonzero = sum(1 for value in advantages if value != 0.0)
        return LossOutput(loss, {"advantage_nonzero_frac": nonzero / len(advantages)})
