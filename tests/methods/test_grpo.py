"""GRPO: its hooks on real rollouts of the tiny model, and the kernel-step choice pinned (the
shared policy-gradient math is tested in ``tests/kernel/test_policy_gradient.py``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from crucible.kernel.plugin import MethodContext, Rollout
from crucible.methods.grpo import GRPO
from crucible.methods.grpo.config import GRPOConfig
from crucible.sandbox_service.models import Status

pytestmark = pytest.mark.train

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ the plugin on a model


def test_score_groups_rollouts_by_query(
    make_rollouts: Callable[..., list[Rollout]], context: MethodContext
) -> None:
    rollouts = make_rollouts(
        [
            [(Status.PASSED, 1.0), (Status.WRONG_ANSWER, 0.0)],
            [(Status.RUNTIME_ERROR, 0.0), (Status.COMPILE_ERROR, 0.0)],
        ]
    )
    method = GRPO(GRPOConfig(reward="coarse", scale_rewards=False), context)
    scores = method.score(rollouts)
    assert [s.reward for s in scores] == [1.0, -0.3, -0.6, -1.0]
    assert [s.advantage for s in scores] == pytest.approx([0.65, -0.65, 0.2, -0.2])


@pytest.mark.parametrize("normalization", ["token", "sequence"])
def test_loss_is_minus_mean_advantage_times_logprob_through_kernel_policy(
    normalization: str,
    make_rollouts: Callable[..., list[Rollout]],
    context: MethodContext,
    token_logprobs: Callable[[Rollout], torch.Tensor],
) -> None:
    """The pinned choice: GRPO's loss is the kernel's own policy-gradient step, -mean(A log π),
    computed from kernel.policy's forward pass, not trl's GRPOTrainer."""
    rollouts = make_rollouts(
        [
            [(Status.PASSED, 1.0), (Status.WRONG_ANSWER, 0.5), (Status.COMPILE_ERROR, 0.0)],
            [(Status.RUNTIME_ERROR, 0.0), (Status.WRONG_ANSWER, 0.0), (Status.PASSED, 1.0)],
        ]
    )
    method = GRPO(GRPOConfig(loss_normalization=normalization), context)
    scores = method.score(rollouts)
    output = method.loss(rollouts, scores)

    advantages = [score.advantage for score in scores]
    assert all(a is not None and a != 0.0 for a in advantages)
    terms = [-a * token_logprobs(r) for a, r in zip(advantages, rollouts, strict=True)]
    if normalization == "token":
        expected = torch.cat(terms).sum() / sum(t.numel() for t in terms)
    else:
        expected = torch.stack([t.mean() for t in terms]).mean()
    assert float(output.loss.detach()) == pytest.approx(float(expected), abs=1e-5)
    assert output.loss.requires_grad
    assert output.metrics["advantage_nonzero_frac"] == 1.0


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_grpo_does_not_import_trl() -> None:
    files = sorted((ROOT / "methods" / "grpo").glob("*.py"))
    assert {f.name for f in files} >= {"plugin.py", "config.py"}
    imported = set().union(*(_imported_modules(f) for f in files))
    assert not {name for name in imported if name.split(".")[0] == "trl"}
    assert "crucible.kernel.policy_gradient" in imported


@pytest.mark.slow  # a fresh interpreter imports torch and transformers (~6 s)
def test_loading_the_grpo_plugin_does_not_load_trl() -> None:
    probe = (
        "import sys; from kernel.registry import load_method; load_method('grpo'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'trl'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
