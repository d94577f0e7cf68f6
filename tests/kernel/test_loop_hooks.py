"""The loop's optional method hooks: learner batches, update epochs, a sampling copy of the policy
refreshed every k steps, and per-rollout data carried from score to loss.

Plugins here are real (small) methods run by the real Trainer on the tiny model against the
embedded jailed sandbox; each records what the kernel handed it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch
from pydantic import BaseModel, ConfigDict

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.plugin import (
    LossOutput,
    OnlineMethod,
    PluginError,
    Rollout,
    Score,
    validate_plugin,
)
from crucible.kernel.policy import completion_logprobs
from crucible.kernel.run_config import load_run_config
from crucible.kernel.sandbox import SandboxHandle

pytestmark = [pytest.mark.train]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: int = 1
    refresh_every: int = 1
    learner_size: int | None = None


class Recorder(OnlineMethod[Settings]):
    """Self-imitation (−mean log π of its own samples), recording every hook call."""

    name: ClassVar[str] = "recorder"

    def __init__(self, settings: Settings, context: Any) -> None:
        super().__init__(settings, context)
        self.loss_batches: list[list[int]] = []
        self.drift: list[float] = []  # per loss call: max |log π_learner − log π_sampler|
        self.steps = 0

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        return [Score(reward=0.0, data={"index": i}) for i in range(len(rollouts))]

    def learner_batch(
        self, rollouts: Sequence[Rollout], scores: Sequence[Score]
    ) -> tuple[list[Rollout], list[Score]]:
        size = self.settings.learner_size
        if size is None:
            return super().learner_batch(rollouts, scores)
        return list(rollouts[:size]), list(scores[:size])

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        self.loss_batches.append([score.data["index"] for score in scores])
        logprobs, _ = completion_logprobs(
            self.context.model,
            [r.sample.prompt_ids for r in rollouts],
            [r.sample.completion_ids for r in rollouts],
            self.context.pad_token_id,
        )
        self.drift.append(
            max(
                float((new.detach() - r.sample.logprobs).abs().max())
                for new, r in zip(logprobs, rollouts, strict=True)
            )
        )
        return LossOutput(-torch.cat(logprobs).mean(), {"calls": 1.0})

    def update_epochs(self) -> int:
        return self.settings.epochs

    def sampler_refresh_every(self) -> int:
        return self.settings.refresh_every

    def observe(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> dict[str, float]:
        self.steps += 1
        return {}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


def _trainer(
    tmp_path: Path,
    sandbox: SandboxHandle,
    steps: int,
    *,
    prompts: int = 2,
    accumulation: int = 1,
    **settings: Any,
) -> Trainer:
    config = load_run_config(
        None,
        [
            "model.name_or_path=tiny",
            "model.device=cpu",
            f"trainer.steps={steps}",
            f"trainer.batch_prompts={prompts}",
            f"trainer.grad_accum_steps={accumulation}",
            "trainer.lr=0.01",
            "trainer.checkpoint_every=0",
            "trainer.eval_every=0",
            f"trainer.output_dir={tmp_path}",
            "sampling.n=2",
            "sampling.max_new_tokens=8",
            "method.name=recorder",
        ],
    )
    model, tokenizer = load_model(config.model)
    problems = to_problems(load_dataset("crucible-basic", "train")[:4])
    return Trainer(
        config,
        Recorder,
        Settings(**settings),
        problems,
        model,
        tokenizer,
        sandbox,
        show_progress=False,
    )


def test_the_default_hooks_learn_from_the_step_once_on_the_current_policy() -> None:
    assert OnlineMethod.update_epochs(None) == 1  # type: ignore[arg-type]
    assert OnlineMethod.sampler_refresh_every(None) == 1  # type: ignore[arg-type]
    scores = [Score(reward=1.0)]
    assert OnlineMethod.learner_batch(None, [], scores) == ([], scores)  # type: ignore[arg-type]
    assert Score(reward=0.0).data == {} and Score(reward=0.0).data is not Score(reward=0.0).data


class WrongBatchHook(Recorder):
    def learner_batch(self, rollouts: Sequence[Rollout]) -> tuple[list[Rollout], list[Score]]:  # type: ignore[override]
        return [], []


class WrongEpochsHook(Recorder):
    def update_epochs(self, step: int) -> int:  # type: ignore[override]
        return 1


@pytest.mark.parametrize(
    ("plugin", "hook"), [(WrongBatchHook, "learner_batch"), (WrongEpochsHook, "update_epochs")]
)
def test_the_new_hooks_are_signature_checked(plugin: type[Recorder], hook: str) -> None:
    with pytest.raises(PluginError, match=f"{plugin.__name__}.{hook}.* does not match the hook"):
        validate_plugin(plugin, "origin")
    assert validate_plugin(Recorder, "origin") is Recorder


def test_update_epochs_takes_that_many_optimiser_steps_and_one_scheduler_step(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    trainer = _trainer(tmp_path, sandbox, steps=1, epochs=3)
    trainer.train()
    method = trainer.method
    assert isinstance(method, Recorder)
    assert method.loss_batches == [[0, 1, 2, 3]] * 3  # the same batch, three times
    assert method.drift[0] < 1e-4 < method.drift[1]  # later epochs see the updated policy
    state = trainer.optimizer.state_dict()["state"]
    assert {int(entry["step"]) for entry in state.values()} == {3}
    assert trainer.scheduler.last_epoch == 1


def test_learner_batch_chooses_what_the_loss_sees(tmp_path: Path, sandbox: SandboxHandle) -> None:
    trainer = _trainer(tmp_path, sandbox, steps=1, learner_size=1)
    rows = trainer.train().history
    method = trainer.method
    assert isinstance(method, Recorder)
    assert method.loss_batches == [[0]]
    assert method.steps == 1
    assert rows[0]["calls"] == 1.0


def test_method_metrics_are_averaged_over_the_micro_batches_actually_formed(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    # 3 prompts x 2 samples = 6 rollouts; 4 accumulation steps give micro-batches of
    # ceil(6 / 4) = 2, so 3 of them: a metric of 1 per loss call must average to 1, not 3/4
    trainer = _trainer(tmp_path, sandbox, steps=1, prompts=3, accumulation=4)
    rows = trainer.train().history
    method = trainer.method
    assert isinstance(method, Recorder)
    assert method.loss_batches == [[0, 1], [2, 3], [4, 5]]
    assert rows[0]["calls"] == 1.0


def test_an_empty_learner_batch_is_a_named_error(tmp_path: Path, sandbox: SandboxHandle) -> None:
    trainer = _trainer(tmp_path, sandbox, steps=1, learner_size=0)
    expected = r"Recorder\.learner_batch returned 0 rollouts and 0 scores"
    with pytest.raises(ValueError, match=expected):
        trainer.train()


def test_a_sampling_copy_takes_the_learners_weights_every_k_steps(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    trainer = _trainer(tmp_path, sandbox, steps=3, refresh_every=2)
    assert trainer.generator is not trainer.model
    trainer.train()
    method = trainer.method
    assert isinstance(method, Recorder)
    # step 0: refreshed; step 1: the copy still has step 0's weights while the learner moved on;
    # step 2: refreshed again
    fresh, stale, refreshed = method.drift
    assert fresh < 1e-4 < stale
    assert refreshed < 1e-4
    assert not any(p.requires_grad for p in trainer.generator.parameters())


def test_a_refresh_interval_below_one_is_refused(tmp_path: Path, sandbox: SandboxHandle) -> None:
    with pytest.raises(ValueError, match=r"Recorder.sampler_refresh_every\(\) returned 0"):
        _trainer(tmp_path, sandbox, steps=1, refresh_every=0)
