"""Crucible as a trl ``GRPOTrainer`` reward: two real GRPO steps of the tiny model on the CPU,
every completion scored by a real sandbox server over one ExecuteBatch stream per step.

The dataset makes the sandbox's verdict certain whatever the random model writes: generation
must start with a ``#`` token and may not write a line break or a null byte, so every completion
is one comment line after its row's prelude. The row whose ``f`` returns 1 passes, the other
fails its test (WRONG_ANSWER); the adaptive reward is then 1 and -0.3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer

from crucible.kernel.config import ModelConfig
from crucible.kernel.integrations.trl_reward import CrucibleReward
from crucible.kernel.models import load_model

pytestmark = [pytest.mark.train, pytest.mark.slow, pytest.mark.timeout(300)]

TESTS = json.dumps([{"body": {"kind": "assert", "code": "assert f() == 1"}}])
PRELUDES = {1: "def f():\n    return 1\n", 2: "def f():\n    return 2\n"}


def test_two_grpo_steps_log_the_sandboxs_rewards(
    sandbox_server: LiveServer, tmp_path: Path
) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = load_model(ModelConfig(name_or_path="tiny", device="cpu"))
    texts = {token: tokenizer.decode([token]) for token in range(len(tokenizer))}
    line_breaks = [t for t, text in texts.items() if any(c in text for c in "\n\r\x00")]
    not_comments = [t for t, text in texts.items() if not text.startswith("#")]
    assert len(not_comments) < len(texts)  # the tokenizer has tokens that start a comment
    rows = [
        {"prompt": prelude + "# ", "prelude": prelude, "tests": TESTS}
        for prelude in PRELUDES.values()
    ]
    reward = CrucibleReward(sandbox_server.address, reward="adaptive")
    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=8,
        max_steps=2,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        seed=0,
        generation_kwargs={"suppress_tokens": line_breaks, "begin_suppress_tokens": not_comments},
    )
    trainer: Any = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=[reward],
        args=args,
        train_dataset=Dataset.from_list(rows),
    )
    try:
        trainer.train()
    finally:
        reward.close()

    steps = [entry for entry in trainer.state.log_history if "rewards/crucible/mean" in entry]
    assert len(steps) == 2
    for entry in steps:  # each step: both rows, two completions each
        assert entry["rewards/crucible/mean"] == pytest.approx((1.0 - 0.3) / 2)
    logged = zip(
        trainer._logs["prompt"],
        trainer._logs["rewards"]["crucible"],
        trainer._logs["extra"]["crucible_status"],
        strict=True,
    )
    for prompt, value, status in logged:
        passes = prompt.startswith(PRELUDES[1])
        assert (status, value) == (
            ("PASSED", 1.0) if passes else ("WRONG_ANSWER", pytest.approx(-0.3))
        )
    batched = [r for r in sandbox_server.request_logs() if r["method"] == "ExecuteBatch"]
    assert len(batched) == 2 * 4
