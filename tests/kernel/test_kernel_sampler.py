"""Sampling with the real tiny model: log-probs, padding, seeds, stops, eos, prompt formatting."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from crucible.kernel.config import ModelConfig, SamplingConfig
from crucible.kernel.models import load_model
from crucible.kernel.sampler import Sample, Sampler, format_prompt
from crucible.kernel.token_text import TokenBytes, decode_with_offsets

pytestmark = pytest.mark.train

PROMPTS = [
    "<s>def add(a, b):\n",
    "<s>import sys\n\ndef solve():\n    n = int(input())\n    values = [",
    "<s>x",
]


def teacher_forced_logprobs(model: Any, sample: Sample) -> torch.Tensor:
    ids = torch.tensor([sample.prompt_ids + sample.completion_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits[:-1], dim=-1)
    targets = ids[0, 1:]
    return logprobs.gather(1, targets[:, None]).squeeze(1)[len(sample.prompt_ids) - 1 :]


def all_ids(rows: list[list[Sample]]) -> list[list[int]]:
    return [sample.completion_ids for row in rows for sample in row]


def check_consistent(sample: Sample, tokenizer: Any) -> None:
    """Text, ids, offsets and log-probs of one sample agree with each other."""
    assert len(sample.completion_ids) == len(sample.offsets) == sample.logprobs.shape[0]
    assert sample.logprobs.dtype == torch.float32 and bool((sample.logprobs <= 0).all())
    body = sample.completion_ids[:-1] if sample.finish_reason == "eos" else sample.completion_ids
    text, offsets = decode_with_offsets(TokenBytes(tokenizer), body)
    assert text == sample.completion
    assert offsets == sample.offsets[: len(body)]
    if sample.finish_reason == "eos":
        assert sample.offsets[-1] == (len(text), len(text))
    assert sample.prompt_ids == tokenizer(sample.prompt, add_special_tokens=False)["input_ids"]


def test_shapes_and_logprobs_match_a_teacher_forced_pass(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    sampler = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=24, batch_size=5))
    result = sampler.sample(PROMPTS, n=3)
    assert [len(row) for row in result] == [3, 3, 3]
    for prompt, row in zip(PROMPTS, result, strict=True):
        for sample in row:
            assert sample.prompt == prompt
            check_consistent(sample, tokenizer)
            # Left padding and the KV cache do not change the numbers a loss recomputes.
            expected = teacher_forced_logprobs(model, sample)
            assert torch.allclose(sample.logprobs, expected, atol=1e-4), (sample.logprobs, expected)
    assert len({tuple(s.completion_ids) for row in result for s in row}) > 3  # actually sampled


def test_greedy_equals_transformers_generate_for_every_prompt_length(
    tiny: tuple[Any, Any],
) -> None:
    model, tokenizer = tiny
    sampler = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=16))
    result = sampler.sample(PROMPTS, n=2, greedy=True)
    for prompt, row in zip(PROMPTS, result, strict=True):
        assert row[0] is row[1]  # decoded once, repeated
        ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            out = model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=16, do_sample=False
            )
        assert (
            row[0].completion_ids == out[0, ids.shape[1] :].tolist()[: len(row[0].completion_ids)]
        )


def test_batch_size_does_not_change_greedy_results(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    one = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=12, batch_size=1))
    many = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=12, batch_size=8))
    a = one.sample(PROMPTS, n=1, greedy=True)
    b = many.sample(PROMPTS, n=1, greedy=True)
    assert [r[0].completion_ids for r in a] == [r[0].completion_ids for r in b]


def test_seeds_reproduce_and_calls_differ_without_touching_global_rng(
    tiny: tuple[Any, Any],
) -> None:
    model, tokenizer = tiny
    cfg = SamplingConfig(max_new_tokens=10, seed=3)
    state = torch.get_rng_state()
    first = Sampler(model, tokenizer, cfg)
    second = Sampler(model, tokenizer, cfg)
    call_1, call_2 = all_ids(first.sample(PROMPTS, n=2)), all_ids(first.sample(PROMPTS, n=2))
    assert all_ids(second.sample(PROMPTS, n=2)) == call_1  # same seed, same call index
    assert call_2 != call_1  # the next call draws new samples
    assert all_ids(second.sample(PROMPTS, n=2, seed=4)) == call_2  # seed + 1 is the second call
    assert torch.equal(torch.get_rng_state(), state)


def test_tiny_top_p_is_greedy_and_temperature_is_not_in_the_logprobs(
    tiny: tuple[Any, Any],
) -> None:
    model, tokenizer = tiny
    greedy = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=10)).sample(
        PROMPTS, n=1, greedy=True
    )
    nucleus = Sampler(
        model, tokenizer, SamplingConfig(max_new_tokens=10, top_p=1e-6, temperature=0.3)
    ).sample(PROMPTS, n=2)
    for g, row in zip(greedy, nucleus, strict=True):
        for sample in row:
            assert sample.completion_ids == g[0].completion_ids
            # Untempered log-probs: the same as the greedy run's despite T = 0.3.
            assert torch.allclose(sample.logprobs, g[0].logprobs, atol=1e-5)


def test_stop_sequences_cut_text_and_tokens(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    free = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=40, seed=11))
    (row,) = free.sample(PROMPTS[:1], n=1)
    full = row[0]
    assert full.finish_reason == "length" and not full.finished
    stop = full.completion[len(full.completion) // 2 :][:3]
    assert stop.strip()
    cut_at = full.completion.index(stop)

    stopped_sampler = Sampler(
        model, tokenizer, SamplingConfig(max_new_tokens=40, seed=11, stop=("NEVER", stop))
    )
    (row,) = stopped_sampler.sample(PROMPTS[:1], n=1)
    sample = row[0]
    assert sample.finish_reason == "stop" and sample.finished
    assert stop not in sample.completion
    assert full.completion.startswith(sample.completion)
    kept = len(sample.completion_ids)
    assert sample.completion_ids == full.completion_ids[:kept]
    assert torch.equal(sample.logprobs, full.logprobs[:kept])
    # Every kept token ends before the stop; the next generated token does not.
    assert sample.offsets[-1][1] <= cut_at < full.offsets[kept][1]
    check_consistent(sample, tokenizer)


def test_eos_ends_a_sample_and_stays_in_its_ids(tiny: tuple[Any, Any]) -> None:
    _, tokenizer = tiny
    model, _ = load_model(
        ModelConfig(device="cpu")
    )  # a private copy: its generation config is changed
    cfg = SamplingConfig(max_new_tokens=12, seed=5)
    (row,) = Sampler(model, tokenizer, cfg).sample(PROMPTS[:1], n=1)
    ids = row[0].completion_ids
    # Declare as eos a token the model sampled, first seen at position 2 or later.
    first_at: dict[int, int] = {}
    for index, token in enumerate(ids):
        first_at.setdefault(token, index)
    end_token, end_index = next((t, i) for t, i in first_at.items() if i >= 2)
    model.generation_config.eos_token_id = [end_token]

    (row,) = Sampler(model, tokenizer, cfg).sample(PROMPTS[:1], n=1)
    sample = row[0]
    assert sample.finish_reason == "eos" and sample.finished
    assert sample.completion_ids == ids[: end_index + 1]
    assert sample.completion_ids[-1] == end_token
    check_consistent(sample, tokenizer)
    expected_text, _ = decode_with_offsets(TokenBytes(tokenizer), ids[:end_index])
    assert sample.completion == expected_text


def test_training_mode_is_restored_and_bad_prompts_are_refused(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    sampler = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=2))
    model.train()
    try:
        sampler.sample(PROMPTS[:1], n=1)
        assert model.training
    finally:
        model.eval()
    with pytest.raises(ValueError, match="prompt 1 encodes to no tokens"):
        sampler.sample(["<s>a", ""], n=1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sampler.sample(PROMPTS, n=0)


def test_format_prompt_plain_and_chat(tiny_tokenizer: Any) -> None:
    tok = tiny_tokenizer
    assert format_prompt(tok, "def f():", chat=False) == "<s>def f():"  # the tokenizer adds BOS
    assert format_prompt(tok, "<s>def f():", chat=False) == "<s>def f():"
    assert format_prompt(tok, "Add two numbers.", chat=True) == (
        "<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert format_prompt(tok, "q", chat=True, system="Be terse.").startswith(
        "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nq"
    )
    with pytest.raises(ValueError, match="needs chat=True"):
        format_prompt(tok, "q", chat=False, system="s")
    formatted = format_prompt(tok, "def f():", chat=False)
    assert tok(formatted, add_special_tokens=False)["input_ids"] == tok("def f():")["input_ids"]


@pytest.mark.slow
def test_smollm2_sampling_formats_chat_and_stops() -> None:
    model, tokenizer = load_model(ModelConfig(name_or_path="smollm2-135m", device="cpu"))
    assert format_prompt(tokenizer, "x", chat=False) == "x"  # SmolLM2 adds no BOS
    prompt = format_prompt(tokenizer, "Write a Python function add(a, b).", chat=True)
    assert prompt.endswith("<|im_start|>assistant\n")
    sampler = Sampler(
        model,
        tokenizer,
        SamplingConfig(max_new_tokens=48, temperature=0.6, top_p=0.95, stop=("\n\n\n",)),
    )
    result = sampler.sample([prompt], n=2)
    greedy = sampler.sample([prompt], n=1, greedy=True)
    for sample in [*result[0], *greedy[0]]:
        check_consistent(sample, tokenizer)
        assert torch.allclose(sample.logprobs, teacher_forced_logprobs(model, sample), atol=1e-3)
    assert "def " in greedy[0][0].completion
