"""CodeDPO's training step: trl's ``DPOTrainer`` on the pairs, as methods.md prescribes.

trl is used as is rather than the kernel's own step: the pairs are a fixed offline dataset, which
is exactly what ``DPOTrainer`` takes, and it brings the DPO loss variants and the precomputed
reference log-probabilities. ``tests/methods/test_codedpo.py`` pins its loss against
−log σ(β · ((log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)))) computed by hand.

The reference is the model as it is when training starts (after any warm start): with
``precompute_ref_log_probs`` trl scores every pair with it before the first update; otherwise a
frozen copy is kept. (Given neither, trl would reload the *original* weights from the model's
folder, losing a warm start.) trl's console printing is removed: the kernel logs the rows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from methods.codedpo.config import CodeDPOConfig
from methods.codedpo.pairs import PreferencePair

TRAINING_COLUMNS = ("prompt", "chosen", "rejected")


def dpo_trainer(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[PreferencePair],
    settings: CodeDPOConfig,
    *,
    output_dir: Path,
    seed: int,
    reference: Any = None,
) -> Any:
    """A ready ``trl.DPOTrainer`` for ``pairs`` (``reference``: a frozen model to compare with
    instead of the default described in the module docstring)."""
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    if not pairs:
        raise ValueError("no preference pairs to train on")
    device = next(model.parameters()).device
    if reference is None and not settings.precompute_ref_log_probs:
        reference = copy.deepcopy(model).eval().requires_grad_(False)
    args = DPOConfig(
        output_dir=str(output_dir),
        use_cpu=device.type == "cpu",
        bf16=next(model.parameters()).dtype == torch.bfloat16,
        beta=settings.beta,
        loss_type=[settings.loss_type],
        precompute_ref_log_probs=settings.precompute_ref_log_probs and reference is None,
        learning_rate=settings.lr,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        max_length=settings.max_length,
        activation_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        seed=seed,
    )
    dataset = Dataset.from_list(
        [{key: getattr(pair, key) for key in TRAINING_COLUMNS} for pair in pairs]
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=reference,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log row to stdout
    return trainer


def train_dpo(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[PreferencePair],
    settings: CodeDPOConfig,
    *,
    output_dir: Path,
    seed: int,
) -> list[dict[str, float]]:
    """Train ``model`` in place on ``pairs``; one row of trl's metrics per optimiser step."""
    trainer = dpo_trainer(model, tokenizer, pairs, settings, output_dir=output_dir, seed=seed)
    trainer.train()
    model.eval()
    return [
        {key: float(value) for key, value in entry.items() if key != "step"}
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
