"""RLTF settings: every method constant with its source (the authors' code, Zyq-scut/RLTF).

The generator's sampling constants (20 samples per problem at T = 0.6, top_p 0.95, at most 512
new tokens, plus one greedy decode) and the learning rate (2e-6) are run settings
(``sampling.*``, ``trainer.lr``), documented in the README rather than repeated here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RLTFConfig(BaseModel):
    """RLTF (Liu et al. 2023, *RLTF: Reinforcement Learning from Unit Test Feedback*,
    arXiv 2307.04349): online RL with coarse, fine-grained and adaptive unit-test feedback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ---------------------------------------------------------------- feedback
    fine_grained: bool = Field(
        default=True,
        description="Fine-grained feedback: penalise the tokens the error points at (GLOBAL: "
        "every completion token, LINE: the failing line's tokens, IGNORE: none). false = the "
        "paper's coarse-only ablations.",
    )
    adaptive: bool = Field(
        default=True,
        description="Adaptive feedback: a failing program earns -0.3 + 1.3 * pass_ratio "
        "instead of -0.3 (code: --ratio_reward).",
    )
    fine_grained_penalty: float = Field(
        default=0.3,
        ge=0.0,
        description="Subtracted from r_t on every penalised token (code: --detailed_weight 0.3).",
    )

    # ------------------------------------------------------------------ losses
    supervised_steps: bool = Field(
        default=True,
        description="Alternate the loss: even learner steps are supervised cross-entropy on "
        "ground-truth solutions, odd ones the RL loss (code: trainer_rl_online_v1, step % 2). "
        "false = every step is an RL step.",
    )

    # ------------------------------------------------------------------ online
    buffer_capacity: int = Field(
        default=6400,
        ge=1,
        description="FIFO buffer of generated samples: the newest this many are kept "
        "(code: --memory_length 6400).",
    )
    refresh_every: int = Field(
        default=50,
        ge=1,
        description="Learner steps between refreshes of the learner's dataset from the buffer "
        "(code: --update_freq 50).",
    )
    pool_rounds: int | None = Field(
        default=None,
        ge=0,
        description="Generation rounds (each like a step's: trainer.batch_prompts prompts x "
        "sampling.n samples, plus greedy baselines) that fill the buffer from the starting "
        "model before the first learner step, as the authors' pre-generated pool. None = "
        "refresh_every - 1: with the first step's own samples the first learner dataset then "
        "holds a whole refresh period's batches, so no sample is drawn twice before the first "
        "refresh. 0 = no pool (the first learner dataset is one step's samples).",
    )
    weight_reload_every: int = Field(
        default=50,
        ge=1,
        description="Steps between copies of the learner's weights into the generator. The "
        "authors' generator reloads the newest checkpoint every 600 s and the learner saves "
        "every 50 steps (--save-freq 50); as a step count this value is [unverified]. "
        "1 = always generate with the current weights.",
    )
    learner_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Samples drawn from the learner's dataset per step; None = as many as the "
        "step generated (sampling.n x trainer.batch_prompts).",
    )

    @property
    def prefill_rounds(self) -> int:
        """``pool_rounds`` with its default resolved."""
        return self.refresh_every - 1 if self.pool_rounds is None else self.pool_rounds
