"""The warm start trains on each prompt exactly as the sampler later formats it, so the policy
learns to continue the text it is sampled from (the BOS token the tiny tokenizers add, or the
chat template's assistant turn)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs the train extra")

from real_engine import LocalEngine  # on the path by tests/conftest.py

from crucible.evaluation.compose import warm_start_pairs
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.problems import to_problems
from crucible.kernel.config import ModelConfig
from crucible.kernel.models import load_model
from crucible.kernel.run_config import RunConfig
from crucible.kernel.sampler import format_prompt
from crucible.methods.codedpo.build import prompt_for_tests
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, Status, TestCase

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


def test_test_writing_adds_codedpos_test_prompt_completed_from_a_docstring_example(
    pooled_engine: LocalEngine,
) -> None:
    """With ``warm_start.test_writing`` every training task also teaches one test in the very
    prompt CodeDPO samples tests from; the test is the task's docstring example (never a
    hidden test), and the task's reference solution passes it in the real sandbox."""
    _, tokenizer = load_model(ModelConfig(name_or_path="tiny-steps"))
    tasks = load_dataset("crucible-steps", "train")[:8]
    plain = warm_start_pairs(RunConfig(), tokenizer, tasks)
    run = RunConfig.model_validate({"warm_start": {"test_writing": True}})
    pairs = warm_start_pairs(run, tokenizer, tasks)
    assert pairs[: len(plain)] == plain
    taught = pairs[len(plain) :]
    assert len(taught) == len(tasks)
    settings = CodeDPOConfig()
    for task, problem, (prompt, line) in zip(tasks, to_problems(tasks), taught, strict=True):
        assert prompt == format_prompt(tokenizer, prompt_for_tests(problem, settings), False)
        test = f"assert {task.entry_point}({line.strip()}"
        hidden = [case.body.code for case in task.tests if isinstance(case.body, AssertTest)]
        assert all(test.replace(" ", "") not in code.replace(" ", "") for code in hidden)
        request = ExecuteRequest(
            source=task.canonical_completion or "",
            prelude=problem.program_prefix,
            tests=[TestCase(body=AssertTest(code=test))],
        )
        assert pooled_engine.run(request).status is Status.PASSED, test
