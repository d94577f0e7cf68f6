"""The config of one training run: the kernel's sections plus the method's own section.

One YAML file per run; every default is visible with ``crucible train --print-config``. The
``method`` section is validated by the chosen plugin's ``config_class`` once the plugin is known,
with errors reported under ``method.<key>`` like every other section.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from crucible.kernel.config import (
    ConfigError,
    ConfigModel,
    ModelConfig,
    SamplingConfig,
    TrainerConfig,
    load_config,
)
from crucible.sandbox_service.models import Limits

SettingsT = TypeVar("SettingsT", bound=BaseModel)


class SandboxSettings(ConfigModel):
    """Where programs run during training."""

    addresses: tuple[str, ...] = Field(
        default=(),
        description="host:port of running sandbox servers (several are load-balanced). Empty "
        "= an embedded engine started and stopped with the run.",
    )
    workers: int | None = Field(
        default=None, ge=1, description="Embedded engine's workers; None = one per CPU core."
    )
    isolation: Literal["strict", "pooled"] = Field(
        default="pooled",
        description="Embedded engine's isolation: pooled = warm jailed workers (fast), strict = "
        "a fresh jail per execution.",
    )
    cpu_time_limit_ms: float = Field(
        default=4000.0, gt=0, description="CPU time per test (RLTF uses 4 s)."
    )
    memory_limit_mb: int = Field(default=512, ge=16, description="Memory per test, MiB.")

    def limits(self) -> Limits:
        """The per-test limits of every program these settings run."""
        return Limits(
            cpu_time_limit_ms=self.cpu_time_limit_ms,
            memory_limit_bytes=self.memory_limit_mb << 20,
        )


class DataSettings(ConfigModel):
    """Which problems to train and evaluate on (names resolved by the evaluation layer)."""

    dataset: str = Field(
        default="crucible-basic",
        description="Dataset name or format:path (see `crucible eval --help`).",
    )
    train_split: str = Field(default="train", description="Split trained on.")
    eval_split: str = Field(default="test", description="Held-out split evaluated on.")
    eval_samples: int = Field(
        default=5, ge=1, description="Samples per held-out task for pass@k (n)."
    )
    eval_k: tuple[int, ...] = Field(default=(1, 5), description="k values reported.")
    eval_temperature: float = Field(
        default=0.8, ge=0, description="Sampling temperature of the evaluation."
    )
    eval_refine_rounds: int = Field(
        default=0,
        ge=0,
        description="Self-refine rounds of the held-out evaluation (CYCLE's execution "
        "feedback; stops early once a round does not raise pass@1). 0 = none.",
    )
    chat: bool = Field(
        default=False,
        description="Wrap prompts in the tokenizer's chat template instead of plain "
        "continuation (code prompts are usually continued, even by instruct models).",
    )
    max_eval_tasks: int | None = Field(
        default=None, ge=1, description="Evaluate on the first N held-out tasks only."
    )
    max_train_tasks: int | None = Field(
        default=None,
        ge=1,
        description="Train on the first N tasks of the training split only (offline methods "
        "build their data from every training task).",
    )


class WarmStartSettings(ConfigModel):
    """Supervised fine-tuning on the training problems' reference solutions before RL.

    A policy that never writes a compiling program gets no signal from execution rewards; a short
    warm start gives the RL method something to improve. Skipped when a run resumes.
    """

    sft_epochs: int = Field(default=0, ge=0, description="Epochs of SFT; 0 = no warm start.")
    lr: float = Field(default=3e-3, gt=0, description="SFT learning rate.")
    batch_size: int = Field(default=16, ge=1, description="SFT batch size.")
    test_writing: bool = Field(
        default=False,
        description="Also teach the policy to write one-line tests of a task's function in "
        "CodeT's test prompt (the one CodeDPO samples tests from), one pair per docstring "
        "example of the training tasks (part of the prompt, never a hidden test), so that a "
        "small model can verify its own code.",
    )


class RunConfig(ConfigModel):
    """Everything one `crucible train` run needs."""

    model: ModelConfig = Field(default_factory=ModelConfig, description="The policy.")
    sampling: SamplingConfig = Field(
        default_factory=SamplingConfig, description="Rollout sampling."
    )
    trainer: TrainerConfig = Field(default_factory=TrainerConfig, description="Optimisation.")
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings, description="Execution.")
    data: DataSettings = Field(default_factory=DataSettings, description="Problems.")
    warm_start: WarmStartSettings = Field(
        default_factory=WarmStartSettings, description="SFT before RL."
    )
    method: dict[str, Any] = Field(
        default_factory=dict,
        description="`name` of the method plugin (see `crucible methods`) plus its own settings.",
    )

    @property
    def method_name(self) -> str:
        return str(self.method.get("name", ""))


def load_run_config(path: str | Path | None, overrides: Sequence[str] = ()) -> RunConfig:
    """Load a run config file and ``--set`` overrides. The method is not checked here: the
    kernel names no method and has no default one; who picks the plugin (``crucible train``, a
    benchmark, a test handing the Trainer a class) requires what it needs."""
    return load_config(RunConfig, path, overrides)


def method_settings(config: RunConfig, config_class: type[SettingsT], source: str) -> SettingsT:
    """Validate the run's ``method`` section with the plugin's config class."""
    section = {key: value for key, value in config.method.items() if key != "name"}
    try:
        return config_class.model_validate(section)
    except ValidationError as exc:
        problems = [
            f"method.{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigError(source, problems) from exc
