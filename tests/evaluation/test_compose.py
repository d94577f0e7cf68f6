"""The warm start trains on each prompt exactly as the sampler later formats it, so the policy
learns to continue the text it is sampled from (the BOS token the tiny tokenizers add, or the
chat template's assistant turn)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs the train extra")

from crucible.evaluation.compose import warm_start_pairs
from crucible.evaluation.datasets import load_dataset
from crucible.kernel.config import ModelConfig
from crucible.kernel.models import load_model
from crucible.kernel.run_config import RunConfig
from crucible.kernel.sampler import format_prompt

pytestmark = pytest.mark.train


@pytest.mark.parametrize("chat", [False, True])
def test_warm_start_prompts_are_the_samplers(chat: bool) -> None:
    _, tokenizer = load_model(ModelConfig(name_or_path="tiny"))
    tasks = load_dataset("crucible-basic", "train")[:5]
    run = RunConfig.model_validate({"data": {"chat": chat}})
    pairs = warm_start_pairs(run, tokenizer, tasks)
    assert [prompt for prompt, _ in pairs] == [
        format_prompt(tokenizer, task.prompt, chat) for task in tasks
    ]
    assert [target for _, target in pairs] == [task.canonical_completion for task in tasks]
    prompt = pairs[0][0]
    if chat:
        assert prompt != tasks[0].prompt and tasks[0].prompt in prompt
    else:
        assert prompt == tokenizer.bos_token + tasks[0].prompt
