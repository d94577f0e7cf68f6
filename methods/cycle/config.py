"""CYCLE settings: Phase I and Phase II fine-tuning, the refinement data, masking and mixing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CycleConfig(BaseModel):
    """CYCLE (Ding et al. 2024, *CYCLE: Learning to Self-Refine the Code Generation*, OOPSLA
    2024, arXiv 2403.18746). Constants marked [unverified] are this implementation's defaults:
    no public source confirmed them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ------------------------------------------------------------- optimisation
    lr: float = Field(
        default=5e-5, gt=0.0, description="Learning rate of both phases (methods.md: 5e-5)."
    )
    weight_decay: float = Field(
        default=0.1, ge=0.0, description="AdamW weight decay of both phases (methods.md: 0.1)."
    )
    phase1_epochs: int = Field(
        default=3,
        ge=0,
        description="Phase I: epochs of fine-tuning on the canonical solutions (methods.md: 3). "
        "0 skips it (e.g. when the run's warm start already did it).",
    )
    phase2_epochs: int = Field(
        default=3, ge=1, description="Phase II: epochs on the mixed refinement data (3)."
    )
    batch_size: int = Field(default=8, ge=1, description="Examples per step [unverified].")

    # --------------------------------------------------------- Phase II data
    samples_per_problem: int = Field(
        default=4,
        ge=1,
        description="Samples of the Phase I model per training problem, run against the "
        "problem's tests, drawn with the run's sampling settings [unverified].",
    )
    target: Literal["bm25", "random"] = Field(
        default="bm25",
        description="Target of a failing sample: the problem's reference solution (canonical "
        "or further references) most similar to the faulty code by BM25 (the paper), or a "
        "random one (its ablation).",
    )
    keep_passing: bool = Field(
        default=True,
        description="Keep passing samples as (description -> own code) examples (the paper).",
    )
    refine_data: bool = Field(
        default=True,
        description="Train Phase II on refinement examples (the paper). False is the ablation "
        "'no refine data': the mix keeps its size, every refinement example replaced by a "
        "code-generation one, so Phase II fine-tunes as long on its own samples and Phase I "
        "data alone.",
    )

    # ------------------------------------------------------- training strategies
    pgm_rate: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Past-generation masking: each token of the past generation (the "
        "commented-out failing completion in a refine prompt) is hidden from attention with "
        "this probability, drawn afresh every epoch; the instruction, the signature and the "
        "execution feedback are never masked [unverified].",
    )
    mix_ratio: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Share of refinement examples in the Phase II mix; the rest are "
        "code-generation examples (passing samples, then Phase I data: description -> "
        "canonical solution). 1 = refinement examples only. The paper mixes the two kinds "
        "without a ratio in the sources we have; 0.5 is methods.md's [unverified].",
    )
