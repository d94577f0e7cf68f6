"""Config loading: YAML + overrides, errors that name the key and the file, a visible dump."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import Field

from crucible.kernel.config import (
    ConfigError,
    ConfigModel,
    LoraSettings,
    ModelConfig,
    SamplingConfig,
    TrainerConfig,
    dump_config,
    iter_fields,
    load_config,
)


class Run(ConfigModel):
    """A composite config like the one a training run loads."""

    model: ModelConfig = Field(default_factory=ModelConfig, description="The model.")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig, description="Sampling.")
    trainer: TrainerConfig = Field(default_factory=TrainerConfig, description="Trainer.")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_and_overrides_are_merged_with_overrides_winning(tmp_path: Path) -> None:
    path = write(tmp_path, "trainer:\n  lr: 0.001\n  steps: 7\nmodel:\n  lora: {r: 4}\n")
    cfg = load_config(
        Run,
        path,
        ["trainer.lr=1e-5", 'sampling.stop=["\\ndef ", "\\nclass "]', "model.lora.alpha=8"],
    )
    assert cfg.trainer.lr == pytest.approx(1e-5)
    assert isinstance(cfg.trainer.lr, float)
    assert cfg.trainer.steps == 7
    assert cfg.sampling.stop == ("\ndef ", "\nclass ")
    assert cfg.model.lora == LoraSettings(r=4, alpha=8)
    assert cfg.sampling.n == SamplingConfig().n  # untouched sections keep their defaults


def test_an_override_can_fill_a_section_the_file_left_null(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  lora: null\n")
    assert load_config(Run, path).model.lora is None
    assert load_config(Run, path, ["model.lora.r=2"]).model.lora == LoraSettings(r=2)


def test_no_file_means_defaults_plus_overrides() -> None:
    cfg = load_config(Run, None, ["model.name_or_path=smollm2-135m", "model.lora=null"])
    assert cfg.model.name_or_path == "smollm2-135m"
    assert cfg.model.lora is None
    assert cfg.trainer == TrainerConfig()


def test_unknown_keys_are_all_listed_with_full_path_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "trainer:\n  lrr: 0.1\nmodel:\n  lora:\n    rank: 4\nextra: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(Run, path)
    message = str(info.value)
    assert str(path) in message
    assert "trainer.lrr: unknown key (did you mean 'trainer.lr'?)" in message
    assert "model.lora.rank: unknown key" in message
    assert "extra: unknown key" in message
    assert "valid keys here: r, alpha, dropout, target_modules" in message
    assert len(info.value.problems) == 3


def test_unknown_override_key_names_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, "trainer: {lr: 0.1}\n")
    with pytest.raises(ConfigError) as info:
        load_config(Run, path, ["sampling.temprature=0.2"])
    assert info.value.problems == [
        "sampling.temprature: unknown key (did you mean 'sampling.temperature'?); valid keys "
        "here: n, temperature, top_p, max_new_tokens, stop, seed, batch_size "
        "[from override 'sampling.temprature=0.2']"
    ]


def test_bad_values_name_key_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "trainer:\n  schedule: cosin\n  grad_accum_steps: 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(Run, path)
    problems = "\n".join(info.value.problems)
    assert "trainer.schedule:" in problems and "'cosin'" in problems
    assert "trainer.grad_accum_steps:" in problems and "(got 0)" in problems


def test_list_items_are_located_by_index() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Run, None, ["sampling.stop=[ok, '']"])
    assert info.value.problems[0].startswith("sampling.stop:")
    with pytest.raises(ConfigError) as info:
        load_config(Run, None, ["model.lora.target_modules=[q_proj, 3]"])
    assert info.value.problems[0].startswith("model.lora.target_modules[1]:")


def test_cross_field_check_quotes_values() -> None:
    with pytest.raises(ConfigError, match=r"warmup_steps=20 exceeds steps=10"):
        load_config(Run, None, ["trainer.steps=10", "trainer.warmup_steps=20"])


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer", "expected section.key=value"),
        ("trainer.=1", "expected section.key=value"),
        ("trainer.lr=[1", "value is not YAML"),
        ("trainer.lr.x=1", "trainer.lr is 1e-05, not a section"),
    ],
)
def test_malformed_overrides_are_rejected(override: str, expected: str) -> None:
    overrides = ["trainer.lr=1e-5", override] if override.startswith("trainer.lr.") else [override]
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace(".", r"\.")):
        load_config(Run, None, overrides)


def test_unreadable_or_non_mapping_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(Run, tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(Run, write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Run, write(tmp_path, "trainer: [\n"))
    assert load_config(Run, write(tmp_path, "")) == Run()


def test_dump_shows_every_default_with_its_description() -> None:
    text = dump_config(Run())
    for key, description in iter_fields(Run):
        leaf = key.rsplit(".", 1)[-1]
        assert f"{leaf}:" in text, key
        assert description.split()[0] in text, key
    # The unset LoRA section's defaults are shown, commented out, in loadable YAML.
    assert "  # to enable, replace null with:\n  #   lora:\n  #     # Rank" in text
    assert '  #     target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"]\n  lora: null' in text
    commented = [line.split("#   ", 1)[1] for line in text.splitlines() if "  #   " in line]
    assert yaml.safe_load("\n".join(commented)) == {"lora": LoraSettings().model_dump(mode="json")}
    assert "  lr: 1.0e-05" in text  # a float PyYAML reads back as a float


def test_dump_round_trips_through_load(tmp_path: Path) -> None:
    cfg = load_config(
        Run,
        None,
        [
            "model.lora={r: 2}",
            "trainer.lr=3e-7",
            "trainer.max_grad_norm=null",
            'sampling.stop=["\\ndef ", "# 中文"]',
            "trainer.output_dir=/tmp/run x",
        ],
    )
    text = dump_config(cfg)
    assert yaml.safe_load(text)["trainer"]["lr"] == pytest.approx(3e-7)
    assert load_config(Run, write(tmp_path, text)) == cfg


def test_configs_are_frozen() -> None:
    cfg = TrainerConfig()
    with pytest.raises(ValueError, match="frozen"):
        cfg.lr = 1.0  # type: ignore[misc]
