"""CodeDPO's training step: trl's ``DPOTrainer`` on the pairs, as methods.md prescribes.

trl is used as is rather than the kernel's own step: the pairs are a fixed offline dataset, which
is exactly what ``DPOTrainer`` takes, and it brings the DPO loss variants and the precomputed
reference log-probabilities. ``tests/methods/test_codedpo.py`` pins its loss against
−log σ(β · ((log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)))) computed by hand.

The reference is the model as it is when training starts (after any warm start): with
``precompute_ref_log_probs`` trl scores every pair with it before the first update; otherwise a
frozen copy is kept. (Given neither, trl would reload the *original* weights from the model's
folder, losing a warm start.) trl's console printing is removed: the kernel logs the rows.

Plain-continuation pairs are tokenised the way the kernel samples and fine-tunes
(:func:`kernel.sft.encode_pair` on the prompt as :func:`kernel.sampler.format_prompt` gives it):
the prompt's own tokens, then the completion's. trl's own rule tokenises prompt + completion as
one text and starts the completion where that diverges from the prompt alone; a code prompt ends
with a newline and a completion starts with indentation, which a byte-level BPE merges into one
token, so trl would drop the prompt's last token and train the completion in a context the
sampler never produces (the tiny model gives its own samples ~-16 nats there against ~-1 in the
context it was sampled in). Conversational pairs keep trl's rule (the chat template ends the
prompt on a token boundary).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from crucible.kernel.sampler import format_prompt
from crucible.kernel.sft import IGNORE_INDEX, encode_pair
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.methods.codedpo.pairs import PreferencePair

TRAINING_COLUMNS = ("prompt", "chosen", "rejected")


def tokenize_pair(tokenizer: Any, prompt: str, chosen: str, rejected: str) -> dict[str, list[int]]:
    """``prompt_ids``/``chosen_ids``/``rejected_ids`` of a plain-continuation pair: the prompt's
    tokens exactly as the sampler encodes it (BOS included where the tokenizer uses one), then
    each completion's tokens past them and the end-of-sequence token, by the warm start's rule
    (:func:`kernel.sft.encode_pair`)."""
    text = format_prompt(tokenizer, prompt, chat=False)
    chosen_all, chosen_labels = encode_pair(tokenizer, text, chosen)
    rejected_all, _ = encode_pair(tokenizer, text, rejected)
    length = sum(1 for label in chosen_labels if label == IGNORE_INDEX)
    return {
        "prompt_ids": chosen_all[:length],
        "chosen_ids": chosen_all[length:],
        "rejected_ids": rejected_all[length:],
    }


def _trainer_class() -> type:
    """trl's ``DPOTrainer`` with plain-continuation pairs tokenised by :func:`tokenize_pair`."""
    from trl.data_utils import is_conversational
    from trl.trainer.dpo_trainer import DPOTrainer

    class ContinuationDPOTrainer(DPOTrainer):
        def _prepare_dataset(
            self, dataset: Any, processing_class: Any, args: Any, dataset_name: str
        ) -> Any:
            if is_conversational(next(iter(dataset))):
                return super()._prepare_dataset(dataset, processing_class, args, dataset_name)
            tokenized = dataset.map(
                lambda row: tokenize_pair(
                    processing_class, row["prompt"], row["chosen"], row["rejected"]
                ),
                remove_columns=dataset.column_names,
            )
            if args.max_length is not None and args.truncation_mode == "keep_start":
                # as trl: a prompt filling max_length would leave no completion token
                tokenized = tokenized.filter(lambda row: len(row["prompt_ids"]) < args.max_length)
            return tokenized

    return ContinuationDPOTrainer


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
    trainer = _trainer_class()(
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
