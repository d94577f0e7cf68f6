"""REINFORCE settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReinforceConfig(BaseModel):
    """REINFORCE with a baseline (Williams 1992, *Simple statistical gradient-following
    algorithms for connectionist reinforcement learning*, Machine Learning 8: 229-256)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ------------------------------------------------------------------ reward
    reward: Literal["coarse", "adaptive"] = Field(
        default="coarse",
        description="Execution reward table (kernel.rewards): coarse = CodeRL/RLTF (pass +1, "
        "some test fails -0.3, runtime error or timeout -0.6, compile error -1); adaptive = "
        "RLTF's variant where a failing program earns -0.3 + 1.3 * pass_ratio.",
    )

    # ---------------------------------------------------------------- baseline
    baseline: Literal["prompt_mean", "moving_average", "none"] = Field(
        default="prompt_mean",
        description="What is subtracted from the reward (Williams 1992's reinforcement "
        "baseline b): prompt_mean = the mean reward of the same prompt's samples in this step "
        "(needs sampling.n >= 2, else every advantage is 0); moving_average = an exponential "
        "moving average of past steps' mean reward (works with n = 1; kept in the checkpoint); "
        "none = plain REINFORCE, advantage = reward.",
    )
    baseline_decay: float = Field(
        default=0.9,
        ge=0.0,
        lt=1.0,
        description="moving_average only: b <- decay * b + (1 - decay) * mean reward of the "
        "step. 0 = last step's mean. Not from the paper; 0.9 is a common choice [unverified].",
    )
