"""One GRPO step of SmolLM2-135M in bf16 on a CUDA GPU: time and peak memory.

Also checks, on the GPU, that the sampler's log-probs match a teacher-forced forward pass in bf16.
Writes ``benchmarks/results/gpu_step.json``. Needs a CUDA device; exits with status 2 without one.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.config import ModelConfig
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import load_run_config, method_settings
from crucible.kernel.sampler import Sampler
from crucible.kernel.sandbox import SandboxHandle

RESULTS = Path(__file__).with_name("results") / "gpu_step.json"


def _logprob_gap(model: Any, tokenizer: Any) -> float:
    from crucible.kernel.config import SamplingConfig

    sampler = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=32, seed=1))
    worst = 0.0
    for sample in sampler.sample(["def add(a, b):\n", "def is_even(n):\n"], n=2)[0]:
        ids = torch.tensor([sample.prompt_ids + sample.completion_ids], device="cuda")
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0].float()
        expected = torch.log_softmax(logits[:-1], -1).gather(1, ids[0, 1:, None]).squeeze(1)
        expected = expected[len(sample.prompt_ids) - 1 :].cpu()
        worst = max(worst, float((sample.logprobs - expected).abs().max()))
    return worst


def main() -> None:
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs a GPU", file=sys.stderr)
        raise SystemExit(2)
    config = load_run_config(
        None,
        [
            "model.name_or_path=smollm2-135m",
            "trainer.steps=1",
            "trainer.batch_prompts=8",
            "sampling.n=8",
            "sampling.max_new_tokens=128",
            "trainer.output_dir=runs/gpu_step",
            "method.name=grpo",
        ],
    )
    model, tokenizer = load_model(config.model)
    gap = _logprob_gap(model, tokenizer)
    method = load_method("grpo")
    tasks = load_dataset("crucible-basic", "train")
    with SandboxHandle() as sandbox:
        trainer = Trainer(
            config,
            method,
            method_settings(config, method.config_class, "gpu_step"),
            to_problems(tasks),
            model,
            tokenizer,
            sandbox,
            show_progress=False,
        )
        torch.cuda.reset_peak_memory_stats()
        began = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - began
    row = result.history[-1]
    report = {
        "device": torch.cuda.get_device_name(),
        "dtype": str(next(model.parameters()).dtype),
        "step_seconds": seconds,
        "generation_s": row["generation_s"],
        "sandbox_s": row["sandbox_s"],
        "learn_s": row["learn_s"],
        "tokens_per_s": row["tokens_per_s"],
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
        "sampler_logprob_max_abs_gap_bf16": gap,
        "model": ModelConfig(name_or_path="smollm2-135m").name_or_path,
    }
    print(json.dumps(report, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
