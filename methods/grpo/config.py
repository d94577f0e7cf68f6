"""GRPO settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GRPOConfig(BaseModel):
    """Group-relative policy optimisation (Shao et al. 2024, DeepSeekMath, arXiv 2402.03300)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reward: Literal["coarse", "adaptive"] = Field(
        default="adaptive",
        description="Execution reward table: coarse (pass +1, fail -0.3, runtime error -0.6, "
        "compile error -1) or RLTF's adaptive (a failing program earns -0.3 + 1.3 * pass_ratio).",
    )
    scale_rewards: bool = Field(
        default=True,
        description="Divide advantages by the group's reward standard deviation (GRPO); "
        "Dr. GRPO (arXiv 2503.20783) recommends false.",
    )
    loss_normalization: Literal["token", "sequence"] = Field(
        default="token",
        description="token: average over every completion token of the batch (DAPO, "
        "arXiv 2503.14476); sequence: average per completion, then over completions (GRPO).",
    )
    epsilon: float = Field(
        default=1e-4, gt=0, description="Added to the standard deviation to avoid division by 0."
    )
