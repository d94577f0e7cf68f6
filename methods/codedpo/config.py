"""CodeDPO settings: the self-verified data construction, its ablations, and the DPO step."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crucible.evaluation.test_writing import TEST_PREFIX, TEST_PROMPT_TEMPLATE

Ranking = Literal["self_verification", "pass_count", "all_tests_trusted", "random"]
Normalization = Literal["mean", "max", "l2"]
LossType = Literal["sigmoid", "hinge", "ipo", "robust", "sppo_hard", "nca_pair"]


class CodeDPOConfig(BaseModel):
    """CodeDPO (Zhang et al. 2024, *CodeDPO: Aligning Code Models with Self Generated and
    Verified Source Code*, arXiv 2410.05605). The authors' code was released only anonymously:
    constants marked [unverified] are this implementation's defaults, not the paper's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ------------------------------------------------------------------ data source
    pairs_file: Path | None = Field(
        default=None,
        description="Train on this prompt/chosen/rejected JSONL (from `crucible codedpo "
        "build-pairs`) instead of building pairs from the model at the start of the run.",
    )

    # ------------------------------------------------------------ self-generation
    codes_per_prompt: int = Field(
        default=8,
        ge=2,
        description="n: code samples per prompt, drawn with the run's sampling settings "
        "[unverified].",
    )
    tests_per_prompt: int = Field(
        default=8,
        ge=1,
        description="m: test samples per prompt, before duplicates and unparsable tests are "
        "dropped [unverified].",
    )
    test_prompt_template: str = Field(
        default=TEST_PROMPT_TEMPLATE,
        description="What the model continues to write a test; {prompt} is the problem's prompt "
        "and {entry_point} the function under test. CodeT's test prompt (Chen et al. 2022, "
        "arXiv 2207.10397) [unverified for CodeDPO].",
    )
    test_prefix: str = Field(
        default=TEST_PREFIX,
        description="Start of every test: appended to the test prompt and prepended to the "
        "sampled line ({entry_point} is filled in). One sampled line is one test.",
    )
    test_max_new_tokens: int = Field(
        default=64, ge=1, description="Most tokens of one sampled test line."
    )
    prompt_example_tests: bool = Field(
        default=False,
        description="Also put the prompt's own docstring examples (`>>> call` and the value it "
        "shows) into the n x m matrix as tests, beside the generated ones, for a model that "
        "cannot write tests. A deviation: the paper's tests are all model-generated; these are "
        "part of the prompt the model sees, never the dataset's hidden tests.",
    )

    # -------------------------------------------------------- self-verification
    ranking: Ranking = Field(
        default="self_verification",
        description="How codes are ranked: self_verification = the paper's iterative scores; "
        "the paper's ablations: pass_count = number of generated tests passed; "
        "all_tests_trusted = every generated test is taken as correct (a code passing all is "
        "chosen, one failing any is rejected); random = two random codes.",
    )
    iterations: int = Field(default=20, ge=1, description="K: score iterations [unverified].")
    damping: float = Field(
        default=0.85,
        ge=0.0,
        le=1.0,
        description="d: weight of the propagated score against the previous one "
        "(s <- (1-d) s + d P s') [unverified].",
    )
    normalization: Normalization = Field(
        default="mean",
        description="How each score vector is normalised after its update: mean = divided by "
        "its mean (scores stay around their starting value 1), max = by its maximum, l2 = by "
        "its Euclidean norm [unverified: the paper says only 'normalised'].",
    )
    min_score_gap: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        description="A correctness pair needs (s_chosen - s_rejected) / s_chosen >= this "
        "[unverified].",
    )

    # ------------------------------------------------------------------- efficiency
    efficiency_pairs: bool = Field(
        default=True,
        description="Also build a (fastest, slowest) pair among codes that pass every trusted "
        "test (those the top-ranked code passes).",
    )
    timing_repeats: int = Field(
        default=5,
        ge=2,
        description="Executions of each candidate on the trusted tests; its time is the "
        "minimum CPU time, and the spread of the repeats is the noise [unverified].",
    )
    min_speedup: float = Field(
        default=1.1,
        ge=1.0,
        description="An efficiency pair needs slowest/fastest best CPU time >= this, besides "
        "a gap between them larger than either program's spread over its repeats. The paper "
        "counts a solution as sped up when it is at least 10% faster [unverified as a "
        "training threshold].",
    )
    audit_with_reference_tests: bool = Field(
        default=True,
        description="Also run each pair's codes against the dataset's own tests and record "
        "whether they pass (provenance only: never used to choose pairs).",
    )

    # ------------------------------------------------------------- DPO (trl)
    beta: float = Field(
        default=0.1, gt=0.0, description="DPO's beta (methods.md: trl's default 0.1)."
    )
    loss_type: LossType = Field(
        default="sigmoid",
        description="trl DPOTrainer loss: sigmoid = DPO (Rafailov et al. 2023); the others "
        "are trl's variants.",
    )
    precompute_ref_log_probs: bool = Field(
        default=True,
        description="Compute the frozen reference's log-probs of every pair once before "
        "training (no second model in memory); false keeps a frozen copy of the start model.",
    )
    lr: float = Field(default=5e-7, gt=0.0, description="DPO learning rate [unverified].")
    epochs: int = Field(default=1, ge=1, description="Passes over the pairs [unverified].")
    batch_size: int = Field(default=8, ge=1, description="Pairs per optimiser step [unverified].")
    max_length: int = Field(
        default=1024, ge=16, description="Longest prompt + completion in tokens (trl default)."
    )

    @model_validator(mode="after")
    def _templates_fill(self) -> CodeDPOConfig:
        for name in ("test_prompt_template", "test_prefix"):
            template = getattr(self, name)
            try:
                template.format(prompt="", entry_point="f")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"{name} {template!r} must use only the fields {{prompt}} and "
                    f"{{entry_point}} (double other braces: {{{{ }}}}): {exc!r}"
                ) from None
        if "{entry_point}" not in self.test_prefix:
            raise ValueError(
                f"test_prefix {self.test_prefix!r} must contain {{entry_point}}: a test calls "
                "the function under test"
            )
        return self
