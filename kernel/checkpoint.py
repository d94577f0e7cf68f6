"""Checkpoints that let a run continue bit-for-bit where it stopped.

A checkpoint holds the model weights (safetensors), the optimiser and scheduler states, the
method's own state (curriculum stages, buffers), the trainer's counters and every RNG state.
It is written to a temporary folder and renamed into place, so a run killed mid-write leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel

CHECKPOINTS = "checkpoints"
_PREFIX = "step-"


@dataclass
class TrainingState:
    """Everything besides the weights that a resumed run needs."""

    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    method: dict[str, Any]
    step: int
    counters: dict[str, float]


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(output_dir: Path, model: PreTrainedModel, state: TrainingState) -> Path:
    """Write checkpoint ``step-NNNNNN`` under ``output_dir/checkpoints``; returns its folder."""
    root = output_dir / CHECKPOINTS
    final = root / f"{_PREFIX}{state.step:06d}"
    staging = root / f".{final.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging / "model", safe_serialization=True)
    torch.save(
        {
            "optimizer": state.optimizer,
            "scheduler": state.scheduler,
            "method": state.method,
            "rng": _rng_state(),
        },
        staging / "state.pt",
    )
    (staging / "trainer.json").write_text(
        json.dumps({"step": state.step, "counters": state.counters}, indent=2)
    )
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The checkpoint with the highest step, if any."""
    root = output_dir / CHECKPOINTS
    found = sorted(root.glob(f"{_PREFIX}*")) if root.is_dir() else []
    return found[-1] if found else None


def load_checkpoint(folder: Path, model: PreTrainedModel) -> TrainingState:
    """Load weights into ``model`` (in place) and return the rest; restores RNG states."""
    from safetensors.torch import load_file

    weights: dict[str, torch.Tensor] = {}
    for shard in sorted((folder / "model").glob("*.safetensors")):
        weights.update(load_file(shard))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = set(getattr(model, "_tied_weights_keys", None) or [])
    really_missing = [key for key in missing if key not in tied]
    if really_missing or unexpected:
        raise ValueError(
            f"checkpoint {folder} does not fit the model: missing {really_missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    blob = torch.load(folder / "state.pt", weights_only=False)
    trainer = json.loads((folder / "trainer.json").read_text())
    _set_rng_state(blob["rng"])
    return TrainingState(
        optimizer=blob["optimizer"],
        scheduler=blob["scheduler"],
        method=blob["method"],
        step=int(trainer["step"]),
        counters={key: float(value) for key, value in trainer["counters"].items()},
    )
