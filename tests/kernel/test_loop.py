"""The training loop end to end: tiny model, embedded jailed sandbox, GRPO, checkpoint, resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.evaluate import EvalSettings, evaluate
from crucible.evaluation.problems import to_problems
from crucible.kernel.checkpoint import latest_checkpoint
from crucible.kernel.loop import Trainer, make_scheduler, step_seed
from crucible.kernel.models import load_model
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import RunConfig, load_run_config, method_settings
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.sft import fine_tune

pytestmark = [pytest.mark.train]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with SandboxHandle(workers=2, isolation="pooled") as handle:
        yield handle


def _config(output_dir: Path, steps: int) -> RunConfig:
    return load_run_config(
        None,
        [
            "model.name_or_path=tiny",
            f"trainer.steps={steps}",
            "trainer.batch_prompts=3",
            "trainer.lr=0.001",
            "trainer.checkpoint_every=2",
            "trainer.eval_every=0",
            f"trainer.output_dir={output_dir}",
            "sampling.n=3",
            "sampling.max_new_tokens=24",
            "method.name=grpo",
        ],
    )


def _trainer(config: RunConfig, sandbox: SandboxHandle) -> Trainer:
    model, tokenizer = load_model(config.model)
    tasks = load_dataset("crucible-basic", "train")[:30]
    # A short warm start so that some programs pass and the advantages are not all zero.
    fine_tune(
        model,
        tokenizer,
        [(t.prompt, t.canonical_completion or "") for t in tasks],
        epochs=8,
        lr=3e-3,
        seed=0,
    )
    method = load_method("grpo")
    settings = method_settings(config, method.config_class, "test")
    return Trainer(
        config,
        method,
        settings,
        to_problems(tasks),
        model,
        tokenizer,
        sandbox,
        show_progress=False,
    )


@pytest.mark.slow
def test_two_steps_change_parameters_and_write_metrics_curves_and_checkpoints(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    trainer = _trainer(_config(tmp_path / "run", steps=2), sandbox)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    result = trainer.train()
    assert result.steps == 2
    changed = any(
        not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True)
    )
    assert changed, "two GRPO steps left every parameter unchanged"
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [row["step"] for row in rows] == [1, 2]
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in rows)
    assert sum(v for k, v in rows[0].items() if k.startswith("status/")) == pytest.approx(1.0)
    assert result.plot is not None and result.plot.stat().st_size > 10_000
    assert latest_checkpoint(tmp_path / "run") == tmp_path / "run" / "checkpoints" / "step-000002"
    assert (tmp_path / "run" / "tensorboard").is_dir()


@pytest.mark.slow
def test_resume_continues_bit_for_bit(tmp_path: Path, sandbox: SandboxHandle) -> None:
    straight = _trainer(_config(tmp_path / "straight", steps=4), sandbox)
    straight.train()

    interrupted = _trainer(_config(tmp_path / "split", steps=2), sandbox)
    interrupted.train()
    resumed = _trainer(_config(tmp_path / "split", steps=4), sandbox)
    assert resumed.resume() == 2
    resumed.train(resume=True)

    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(
        straight.optimizer.state_dict()["state"].values(),
        resumed.optimizer.state_dict()["state"].values(),
        strict=True,
    ):
        assert torch.equal(a["exp_avg"], b["exp_avg"])
    rows_a = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    rows_b = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    keep = ("step", "reward_mean", "pass_rate", "loss", "lr")
    project = [{k: json.loads(r)[k] for k in keep} for r in rows_a]
    assert project == [{k: json.loads(r)[k] for k in keep} for r in rows_b]


def test_step_seed_depends_only_on_seed_and_step() -> None:
    assert step_seed(0, 5) == step_seed(0, 5)
    assert len({step_seed(0, s) for s in range(100)}) == 100
    assert step_seed(1, 5) != step_seed(0, 5)


@pytest.mark.parametrize(
    ("schedule", "factors"),
    [
        ("constant", [0.5, 1.0, 1.0, 1.0, 1.0]),
        ("linear", [0.5, 1.0, 1.0, 2 / 3, 1 / 3]),
        ("cosine", [0.5, 1.0, 1.0, 0.75, 0.25]),
    ],
)
def test_schedules_warm_up_then_decay(schedule: str, factors: list[float]) -> None:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    scheduler = make_scheduler(optimizer, schedule, warmup=2, total=5)
    seen = []
    for _ in range(5):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx(factors)


@pytest.mark.slow
def test_evaluate_reports_pass_at_k_statuses_and_refinement(sandbox: SandboxHandle) -> None:
    model, tokenizer = load_model(_config(Path("unused"), 1).model)
    tasks = load_dataset("crucible-basic", "test")[:6]
    result = evaluate(
        model,
        tokenizer,
        tasks,
        sandbox,
        EvalSettings(n=2, ks=(1, 2), max_new_tokens=16, refine_rounds=1),
    )
    assert set(result.pass_at_k) == {"pass@1", "pass@2"}
    assert sum(result.statuses.values()) == 12
    assert len(result.refine_pass_at_1) == 2
    assert result.refine_pass_at_1[1] >= result.refine_pass_at_1[0]
    assert [row["task_id"] for row in result.rows] == [t.task_id for t in tasks]
