"""StepCoder settings: every constant of the method, with its source.

StepCoder's training code was never released, so every value not stated in the paper is marked
[unverified] and is a setting here; the PPO values default to trl's ``PPOConfig`` (0.19).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StepCoderConfig(BaseModel):
    """StepCoder (Dou et al. 2024, *StepCoder: Improve Code Generation with Reinforcement
    Learning from Compiler Feedback*, arXiv 2402.01391): CCCS + FGO on top of PPO."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -------------------------------------------------------------------- CCCS
    cccs: bool = Field(
        default=True,
        description="Curriculum of code-completion subtasks: prompt with the head of the "
        "canonical solution, moving the start point towards the beginning. false = the paper's "
        "'without CCCS' ablation (always plain generation, s* = 0).",
    )
    accuracy_threshold: float = Field(
        default=0.6,
        gt=0.0,
        lt=1.0,
        description="rho: a sample's start point moves one stage towards the beginning when the "
        "cumulative pass rate of its current stage exceeds this [unverified].",
    )
    min_stage_attempts: int = Field(
        default=1,
        ge=1,
        description="Completions a stage must have been tried with before its accuracy is "
        "compared with rho; 1 = the paper's rule as stated [unverified].",
    )
    stride: int | None = Field(
        default=None,
        ge=1,
        description="Start points skipped per stage; None = ceil(E / ceil(sqrt(E))) for a "
        "sample with E start points, giving about ceil(sqrt(E)) + 1 stages [unverified].",
    )
    use_scope: bool = Field(
        default=True,
        description="Take start points from the dataset's APPS+ `scope` when a problem has one; "
        "otherwise (and when false) from the canonical solution's AST.",
    )

    # --------------------------------------------------------------------- FGO
    fgo: bool = Field(
        default=True,
        description="Fine-grained optimisation: tokens on code the unit tests did not run "
        "leave the policy loss. false = the paper's 'without FGO' ablation.",
    )
    empty_mask: Literal["unmasked", "drop"] = Field(
        default="unmasked",
        description="When no line of the completion executed (a compile error, or nothing "
        "ran): unmasked = fall back to the plain PPO loss for that completion; drop = it adds "
        "nothing to the policy loss [unverified].",
    )

    # --------------------------------------------------------------------- PPO
    ppo_epochs: int = Field(
        default=4,
        ge=1,
        description="Optimiser steps on each batch of rollouts [unverified; trl PPOConfig].",
    )
    clip_range: float = Field(
        default=0.2,
        gt=0.0,
        description="epsilon of the clipped ratio [unverified; trl PPOConfig].",
    )
    value_clip_range: float = Field(
        default=0.2,
        gt=0.0,
        description="Clip of the value prediction around the old value [unverified; trl].",
    )
    value_coef: float = Field(
        default=0.1,
        ge=0.0,
        description="Weight of the value loss beside the policy loss [unverified; trl].",
    )
    kl_coef: float = Field(
        default=0.05,
        ge=0.0,
        description="beta of the per-token KL penalty to the frozen starting policy, subtracted "
        "from the rewards [unverified; trl PPOConfig].",
    )
    gamma: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Discount [unverified; trl PPOConfig]."
    )
    lam: float = Field(
        default=0.95, ge=0.0, le=1.0, description="GAE lambda [unverified; trl PPOConfig]."
    )
    whiten_advantages: bool = Field(
        default=True,
        description="Normalise the step's advantages to mean 0, variance 1 over its "
        "masked-in completion tokens (trl's PPO whitens over its response mask).",
    )
    forward_batch_size: int = Field(
        default=8,
        ge=1,
        description="Completions per no-grad forward pass when scoring (old log-probs, values, "
        "reference log-probs); memory only, no effect on results beyond float noise.",
    )
