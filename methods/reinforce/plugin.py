"""REINFORCE as a kernel plugin: thin glue between the kernel's hooks, ``loss.py`` and the
group-baselined policy gradient it shares with GRPO (``kernel.policy_gradient``).

``score`` turns verdicts into rewards (``kernel.rewards``) and subtracts the baseline; ``loss``
is the shared policy-gradient step averaged over every completion token;
``observe`` moves the moving-average baseline, the only state the method keeps, which
``state_dict``/``load_state_dict`` carry through checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from crucible.kernel.plugin import LossOutput, MethodContext, OnlineMethod, Rollout, Score
from crucible.kernel.policy_gradient import group_advantages, policy_gradient_step, prompt_key
from crucible.kernel.rewards import adaptive_reward, coarse_reward
from crucible.methods.reinforce.config import ReinforceConfig
from crucible.methods.reinforce.loss import moving_average


class Reinforce(OnlineMethod[ReinforceConfig]):
    """REINFORCE (Williams 1992): advantage = reward − baseline on every completion token."""

    name: ClassVar[str] = "reinforce"

    def __init__(self, settings: ReinforceConfig, context: MethodContext) -> None:
        super().__init__(settings, context)
        self.moving_baseline: float | None = None

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        reward_of = adaptive_reward if self.settings.reward == "adaptive" else coarse_reward
        rewards = [reward_of(rollout.verdict) for rollout in rollouts]
        if self.settings.baseline == "prompt_mean":
            advantages = group_advantages(rewards, [prompt_key(r) for r in rollouts])
        elif self.settings.baseline == "moving_average":
            # Past steps only, so b does not depend on this step's samples (first step: its mean).
            baseline = self.moving_baseline
            if baseline is None:
                baseline = sum(rewards) / len(rewards)
            advantages = [reward - baseline for reward in rewards]
        else:
            advantages = list(rewards)
        return [Score(reward=r, advantage=a) for r, a in zip(rewards, advantages, strict=True)]

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        return policy_gradient_step(self.context, rollouts, scores, "token")

    def observe(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> dict[str, float]:
        if self.settings.baseline != "moving_average":
            return {}
        self.moving_baseline = moving_average(
            self.moving_baseline, [score.reward for score in scores], self.settings.baseline_decay
        )
        return {"baseline": self.moving_baseline}

    def state_dict(self) -> dict[str, Any]:
        return {"moving_baseline": self.moving_baseline}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.moving_baseline = state.get("moving_baseline")
