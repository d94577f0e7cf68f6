"""Offline methods (kernel.plugin.OfflineMethod, kernel.offline): registration checks, the
trainer's single fit with the usual outputs and resume, and the supervised step's per-example
attention masks that such methods use."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("torch", reason="needs the train extra")

from pydantic import BaseModel

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.loop import Trainer
from crucible.kernel.plugin import (
    OfflineMethod,
    OfflineRun,
    PluginError,
    validate_plugin,
)
from crucible.kernel.run_config import RunConfig, SandboxSettings, load_run_config
from crucible.kernel.sampler import Sampler
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import encode_pair, fine_tune

pytestmark = pytest.mark.train


class _Settings(BaseModel):
    epochs: int = 2


class Memorise(OfflineMethod[_Settings]):
    """A real offline method: fine-tunes on the problems' reference solutions, and notes each
    fit in the run's folder so a test can count them."""

    name: ClassVar[str] = "memorise"
    seen: ClassVar[list[OfflineRun]] = []

    def fit(self, run: OfflineRun) -> list[dict[str, float]]:
        Memorise.seen.append(run)
        pairs = [(p.prompt, p.reference_solution) for p in run.problems]
        losses = fine_tune(
            self.context.model, self.context.tokenizer, pairs, epochs=self.settings.epochs, lr=3e-3
        )
        return [{"loss": loss} for loss in losses]


class NoFit(OfflineMethod[_Settings]):
    name: ClassVar[str] = "no-fit"


class WrongFit(Memorise):
    def fit(self, run: OfflineRun, extra: int) -> list[dict[str, float]]:  # type: ignore[override]
        return []


def test_an_offline_plugin_must_implement_fit_with_the_hook_signature() -> None:
    assert validate_plugin(Memorise, "origin") is Memorise
    with pytest.raises(PluginError, match=r"^origin: plugin NoFit does not implement \['fit'\]$"):
        validate_plugin(NoFit, "origin")
    with pytest.raises(
        PluginError,
        match=r"WrongFit\.fit\(self, run: .*, extra: .*does not match the hook fit\(self, run",
    ):
        validate_plugin(WrongFit, "origin")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=1, isolation="pooled") as handle:
        yield handle


def _config(output_dir: Path) -> RunConfig:
    return load_run_config(
        None, ["model.name_or_path=tiny", "model.device=cpu", f"trainer.output_dir={output_dir}"]
    )


def test_the_trainer_fits_once_logs_rows_as_steps_and_resumes_finished(
    tmp_path: Path, tiny: tuple[Any, Any], sandbox: SandboxHandle
) -> None:
    model, tokenizer = copy.deepcopy(tiny[0]), tiny[1]
    problems = to_problems(load_dataset("crucible-basic", "train")[:3])
    config = _config(tmp_path)
    Memorise.seen.clear()
    trainer = Trainer(
        config, Memorise, _Settings(), problems, model, tokenizer, sandbox, show_progress=False
    )
    result = trainer.train(initial_metrics={"eval_pass@1": 0.5})

    (run,) = Memorise.seen
    assert list(run.problems) == problems and run.sandbox is sandbox
    assert isinstance(run.sampler, Sampler) and run.config is config
    assert run.output_dir == tmp_path
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [0, 1, 2]
    assert rows[0] == {"step": 0, "eval_pass@1": 0.5}
    assert rows[2]["loss"] < rows[1]["loss"]
    assert result.steps == 2 and result.history == rows
    assert (tmp_path / "checkpoints" / "step-000002").is_dir()
    assert result.plot is not None and result.plot.exists()

    resumed = Trainer(
        config, Memorise, _Settings(), problems, model, tokenizer, sandbox, show_progress=False
    ).train(resume=True)
    assert len(Memorise.seen) == 1  # finished: not fitted again
    assert resumed.steps == 2 and resumed.history == rows


def test_fine_tune_asks_for_each_examples_attention_mask_every_epoch(
    tiny: tuple[Any, Any],
) -> None:
    tokenizer = tiny[1]
    pairs = [("def f(x):\n", "    return x\n"), ("def g(y):\n", "    return -y\n")]
    encoded = [encode_pair(tokenizer, prompt, target)[0] for prompt, target in pairs]
    calls: list[tuple[int, list[int]]] = []

    def all_ones(index: int, ids: list[int]) -> list[int]:
        calls.append((index, ids))
        return [1] * len(ids)

    plain = fine_tune(copy.deepcopy(tiny[0]), tokenizer, pairs, epochs=2, lr=1e-3, batch_size=1)
    ones = fine_tune(
        copy.deepcopy(tiny[0]),
        tokenizer,
        pairs,
        epochs=2,
        lr=1e-3,
        batch_size=1,
        attention_mask=all_ones,
    )
    assert ones == plain
    assert sorted(index for index, _ in calls) == [0, 0, 1, 1]
    assert all(ids == encoded[index] for index, ids in calls)

    def hide_the_prompt(index: int, ids: list[int]) -> list[int]:
        prompt_length = len(tokenizer(pairs[index][0], add_special_tokens=False)["input_ids"])
        return [1] + [0] * (prompt_length - 1) + [1] * (len(ids) - prompt_length)

    hidden = fine_tune(
        copy.deepcopy(tiny[0]),
        tokenizer,
        pairs,
        epochs=2,
        lr=1e-3,
        batch_size=1,
        attention_mask=hide_the_prompt,
    )
    assert hidden != plain


def test_sandbox_settings_give_the_per_test_limits() -> None:
    limits = SandboxSettings(cpu_time_limit_ms=1500, memory_limit_mb=64).limits()
    assert limits.cpu_time_limit_ms == 1500
    assert limits.memory_limit_bytes == 64 << 20
