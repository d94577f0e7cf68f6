"""REINFORCE as a kernel plugin: thin glue between the kernel's hooks and ``loss.py``.

``score`` turns verdicts into rewards (``kernel.rewards``) and subtracts the baseline; ``loss``
runs one forward pass (``kernel.policy.completion_logprobs``) and applies ``reinforce_loss``;
``observe`` moves the moving-average baseline, the only state the method keeps, which
``state_dict``/``load_state_dict`` carry through checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from crucible.kernel.plugin import LossOutput, Method, MethodContext, Rollout, Score
from crucible.kernel.policy import completion_logprobs
from crucible.kernel.rewards import adaptive_reward, coarse_reward
from crucible.methods.reinforce.config import ReinforceConfig
from crucible.methods.reinforce.loss import moving_average, prompt_mean_advantages, reinforce_loss


def prompt_key(rollout: Rollout) -> tuple[str, str, str]:
    """The group a rollout's baseline is taken over: samples of the same problem and prompt."""
    query = rollout.query
    return (query.problem.problem_id, query.prompt, query.program_prefix)


class Reinforce(Method):
    """REINFORCE (Williams 1992): advantage = reward − baseline on every completion token."""

    name: ClassVar[str] = "reinforce"
    config_class: ClassVar[type[ReinforceConfig]] = ReinforceConfig

    def __init__(self, config: ReinforceConfig, context: MethodContext) -> None:
        if not isinstance(config, ReinforceConfig):
            raise TypeError(f"Reinforce needs a ReinforceConfig, got {type(config).__name__}")
        super().__init__(config, context)
        self.settings = config
        self.moving_baseline: float | None = None

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        reward_of = adaptive_reward if self.settings.reward == "adaptive" else coarse_reward
        rewards = [reward_of(rollout.verdict) for rollout in rollouts]
        if self.settings.baseline == "prompt_mean":
            advantages = prompt_mean_advantages(rewards, [prompt_key(r) for r in rollouts])
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
        logprobs, _ = completion_logprobs(
            self.context.model,
            [rollout.sample.prompt_ids for rollout in rollouts],
            [rollout.sample.completion_ids for rollout in rollouts],
            self.context.pad_token_id,
        )
        advantages = [score.advantage or 0.0 for score in scores]
        loss = reinforce_loss(logprobs, advantages)
        nonzero = sum(1 for advantage in advantages if advantage != 0.0)
        return LossOutput(loss, {"advantage_nonzero_frac": nonzero / len(advantages)})

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
