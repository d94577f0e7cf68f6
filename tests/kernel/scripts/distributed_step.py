"""One training step in every process of an ``accelerate launch``; each process then writes what
the test compares: a digest of its weights and the problems of its share of the step.

Usage: torchrun --nproc_per_node 2 distributed_step.py OUTPUT_DIR
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.distributed import Processes
from crucible.kernel.loop import Trainer
from crucible.kernel.models import load_model
from crucible.kernel.registry import load_method
from crucible.kernel.run_config import load_run_config, method_settings
from crucible.kernel.sandbox import SandboxHandle


def digest(model: torch.nn.Module) -> str:
    hasher = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        hasher.update(name.encode())
        hasher.update(tensor.detach().cpu().numpy().tobytes())
    return hasher.hexdigest()


def main(output_dir: Path) -> None:
    config = load_run_config(
        None,
        [
            "model.name_or_path=tiny",
            "model.device=cpu",
            "trainer.steps=1",
            "trainer.batch_prompts=4",
            "trainer.lr=0.01",
            "trainer.checkpoint_every=1",
            "trainer.eval_every=0",
            f"trainer.output_dir={output_dir / 'run'}",
            "sampling.n=2",
            "sampling.max_new_tokens=16",
            "method.name=reinforce",
            "method.baseline=none",
        ],
    )
    processes = Processes()
    model, tokenizer = load_model(config.model)
    before = digest(model)
    method = load_method("reinforce")
    settings = method_settings(config, method.config_class, "test")
    problems = to_problems(load_dataset("crucible-basic", "train")[:8])
    with SandboxHandle(workers=1, isolation="pooled") as sandbox:
        trainer = Trainer(
            config, method, settings, problems, model, tokenizer, sandbox, show_progress=False
        )
        seen: list[str] = []
        original = trainer.method.score

        def recording_score(rollouts):
            seen.extend(r.query.problem.problem_id for r in rollouts)
            return original(rollouts)

        trainer.method.score = recording_score
        trainer.train()
    report = {
        "rank": processes.rank,
        "count": processes.count,
        "before": before,
        "after": digest(model),
        "problems": sorted(set(seen)),
    }
    (output_dir / f"rank{processes.rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
