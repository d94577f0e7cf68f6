"""GRPO as a kernel plugin: thin glue between the kernel's hooks and the shared group-baselined
policy gradient (:mod:`crucible.kernel.policy_gradient`, DeepSeekMath eq. 3).

With one policy update per batch of rollouts (on-policy), the clipped ratio of PPO equals 1 and
its gradient is that of ``A_i * log pi(y_i,t)``; no KL term: with beta = 0 (DAPO, Dr. GRPO) no
reference model is kept.

The kernel's own policy-gradient step is used rather than trl's ``GRPOTrainer``: the rollouts come
from the kernel's sampler and sandbox (overlapped with generation), checkpoints must carry the
kernel's resume state, and the same step serves the methods whose per-token weights trl cannot
take without subclassing private methods. ``tests/methods/test_grpo.py`` pins this choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from crucible.kernel.plugin import LossOutput, OnlineMethod, Rollout, Score
from crucible.kernel.policy_gradient import group_advantages, policy_gradient_step, prompt_key
from crucible.kernel.rewards import adaptive_reward, coarse_reward
from crucible.methods.grpo.config import GRPOConfig


class GRPO(OnlineMethod[GRPOConfig]):
    """Group-relative advantages over the n samples of each prompt."""

    name: ClassVar[str] = "grpo"

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        reward_of = adaptive_reward if self.settings.reward == "adaptive" else coarse_reward
        rewards = [reward_of(rollout.verdict) for rollout in rollouts]
        advantages = group_advantages(
            rewards,
            [prompt_key(rollout) for rollout in rollouts],
            std_epsilon=self.settings.epsilon if self.settings.scale_rewards else None,
        )
        return [
            Score(reward=reward, advantage=advantage)
            for reward, advantage in zip(rewards, advantages, strict=True)
        ]

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        return policy_gradient_step(
            self.context, rollouts, scores, self.settings.loss_normalization
        )
