"""Model loading: the tiny model and its cache, local folders, dtype/device, LoRA, SmolLM2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch
from transformers import LlamaForCausalLM

import crucible.kernel.models as models_module
from crucible.kernel.config import LoraSettings, ModelConfig
from crucible.kernel.models import (
    cache_root,
    load_model,
    resolve_device,
    resolve_dtype,
    resolve_folder,
)

pytestmark = pytest.mark.train


def logits_of(model: Any, text_ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        logits: torch.Tensor = model(input_ids=torch.tensor([text_ids])).logits[0]
    return logits


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRUCIBLE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def no_build(folder: Path, *args: object) -> None:
    raise AssertionError(f"built {folder} again instead of loading it from the cache")


def test_tiny_builds_into_the_cache_then_loads_from_it(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cache_root() == empty_cache
    model, tokenizer = load_model(ModelConfig(device="cpu"))
    (folder,) = empty_cache.iterdir()
    assert folder.name.startswith("tiny-")
    assert (folder / "crucible-complete.json").is_file()
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    monkeypatch.setattr(models_module, "_build_tiny", no_build)  # the second load must not build
    again, _ = load_model(ModelConfig(device="cpu"))
    assert [p.name for p in empty_cache.iterdir()] == [folder.name]  # no temporary leftovers
    ids = tokenizer("def f(x):\n    return x")["input_ids"]
    assert torch.equal(logits_of(model, ids), logits_of(again, ids))


def test_tiny_is_deterministic_per_seed(
    empty_cache: Path, tiny: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh build in an empty cache reproduces the session's model bit for bit."""
    model, tokenizer = load_model(ModelConfig(device="cpu"))
    session_model, session_tokenizer = tiny
    assert tokenizer.get_vocab() == session_tokenizer.get_vocab()
    ids = tokenizer("for i in range(10):\n    print(i)")["input_ids"]
    assert torch.equal(logits_of(model, ids), logits_of(session_model, ids))
    other, _ = load_model(ModelConfig(seed=1, device="cpu"))
    assert not torch.equal(logits_of(other, ids), logits_of(model, ids))
    assert len(list(empty_cache.iterdir())) == 2  # one cache entry per seed


def test_tiny_shape_and_tokenizer(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    assert isinstance(model, LlamaForCausalLM)
    assert not model.training
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (64, 2, 4)
    assert config.vocab_size == len(tokenizer)
    assert model.dtype == torch.float32 and model.device.type == "cpu"
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == (
        "<s>",
        "</s>",
        "<pad>",
    )
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}) == 3
    assert tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id  # Llama-style BOS
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    encoded = tokenizer("    return x\n", add_special_tokens=False, return_offsets_mapping=True)
    assert encoded["offset_mapping"][-1][1] == len("    return x\n")
    # Code-like text compresses: the BPE learned merges for indentation and keywords.
    assert len(encoded["input_ids"]) < len("    return x\n") / 2


def test_tiny_steps_is_grown_and_its_tokenizer_reads_longer_functions_in_fewer_tokens(
    tiny: tuple[Any, Any],
) -> None:
    model, tokenizer = load_model(ModelConfig(name_or_path="tiny-steps", device="cpu"))
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers) == (128, 3)
    assert config.vocab_size == len(tokenizer) > len(tiny[1])
    assert resolve_folder("tiny-steps").name.startswith("tiny-steps-")
    function = (
        "def count_above(xs: list[int]) -> int:\n"
        '    """Return how many elements of xs are greater than 3.\n\n'
        "    >>> count_above([1, 5])\n    1\n"
        '    """\n'
        "    count = 0\n    for x in xs:\n        if x > 3:\n            count += 1\n"
        "    return count\n"
    )
    steps_ids = tokenizer(function)["input_ids"]
    assert tokenizer.decode(steps_ids, skip_special_tokens=True) == function
    assert len(steps_ids) < 0.85 * len(tiny[1](function)["input_ids"])


def test_a_local_folder_loads_like_the_model_saved_into_it(
    tiny: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tokenizer = tiny
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    loaded, loaded_tokenizer = load_model(
        ModelConfig(name_or_path=str(tmp_path / "m"), device="cpu")
    )
    ids = tokenizer("x = 1")["input_ids"]
    assert loaded_tokenizer("x = 1")["input_ids"] == ids
    assert torch.equal(logits_of(loaded, ids), logits_of(model, ids))


def test_missing_folder_error_says_no_downloads(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="never downloads"):
        resolve_folder("Qwen/Qwen2.5-Coder-0.5B")
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        load_model(ModelConfig(name_or_path=str(tmp_path)))


def test_dtype_and_device_resolution(tiny: tuple[Any, Any]) -> None:
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bfloat16", "cpu") == torch.bfloat16
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            resolve_device("cuda")
    model, _ = load_model(ModelConfig(dtype="bfloat16", device="cpu"))
    assert model.dtype == torch.bfloat16


def test_lora_trains_only_adapters_and_starts_at_the_base_model(tiny: tuple[Any, Any]) -> None:
    from peft import PeftModel

    base, tokenizer = tiny
    cfg = ModelConfig(
        device="cpu", lora=LoraSettings(r=4, alpha=8, target_modules=("q_proj", "v_proj"))
    )
    model, _ = load_model(cfg)
    assert isinstance(model, PeftModel)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert len(trainable) == 2 * 2 * 2  # 2 layers x (q, v) x (A, B)
    ids = tokenizer("def f():")["input_ids"]
    assert torch.allclose(logits_of(model, ids), logits_of(base, ids), atol=1e-6)  # B = 0
    again, _ = load_model(cfg)
    assert all(
        torch.equal(a, b)
        for (_, a), (_, b) in zip(model.named_parameters(), again.named_parameters(), strict=True)
    )


@pytest.mark.slow
def test_smollm2_loads_offline_from_its_cache_and_writes_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = ModelConfig(name_or_path="smollm2-135m", device="cpu")
    load_model(cfg)  # builds the cache the first time (~30 s)
    monkeypatch.setattr(models_module, "_build_smollm2", no_build)  # now it loads from the cache
    model: Any  # PreTrainedModel: generate() comes from GenerationMixin, invisible to mypy
    model, tokenizer = load_model(cfg)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(134.5e6, rel=0.01)
    assert tokenizer.chat_template and tokenizer.pad_token is not None
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Write a Python function that adds two numbers."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=40, do_sample=False)
    text = tokenizer.decode(out[0, ids.shape[1] :])
    assert "def " in text
