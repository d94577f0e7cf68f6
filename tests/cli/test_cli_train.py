"""`crucible train`, `crucible eval` and `crucible methods` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# train, methods and eval load the training half (torch)
pytestmark = pytest.mark.train

CRUCIBLE = str(Path(sys.executable).with_name("crucible"))


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRUCIBLE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_methods_lists_the_installed_plugins_as_json() -> None:
    result = run("methods", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["grpo"]["target"] == "crucible.methods.grpo:GRPO"
    assert rows["grpo"]["status"] == "ok"
    assert "reward" in rows["grpo"]["settings"]


def test_print_config_shows_every_section_with_defaults() -> None:
    result = run("train", "--config", "configs/demo.yaml", "--print-config")
    assert result.returncode == 0, result.stderr
    for section in ("model:", "sampling:", "trainer:", "sandbox:", "data:", "warm_start:"):
        assert section in result.stdout
    assert "name_or_path: tiny" in result.stdout


def test_unknown_config_key_is_bad_input_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("trainer:\n  lrr: 0.1\n")
    result = run("train", "--config", str(config), "--print-config")
    assert result.returncode == 2
    assert "trainer.lrr" in result.stderr


def test_unknown_method_setting_is_bad_input_naming_the_key() -> None:
    result = run("train", "--method", "grpo", "--set", "method.rewrd=coarse", "--print-config")
    assert result.returncode == 2
    assert "method.rewrd" in result.stderr


def test_unknown_method_lists_the_installed_ones() -> None:
    result = run("train", "--method", "nope", "--print-config")
    assert result.returncode == 2
    assert "grpo" in result.stderr


def test_eval_rejects_bad_k() -> None:
    result = run("eval", "--model", "tiny", "--k", "0,x")
    assert result.returncode == 2
    assert "--k" in result.stderr


@pytest.mark.slow
def test_eval_reports_pass_at_k_and_writes_per_task_rows(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    result = run(
        "eval",
        "--model",
        "tiny",
        "--dataset",
        "crucible-basic",
        "--split",
        "test",
        "--limit",
        "3",
        "--n",
        "2",
        "--k",
        "1,2",
        "--max-new-tokens",
        "16",
        "--refine-rounds",
        "1",
        "--output",
        str(rows),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"pass@1", "pass@2", "pass@1_round1", "statuses", "error_subtypes"} <= set(summary)
    assert sum(summary["statuses"].values()) == 6
    lines = [json.loads(line) for line in rows.read_text().splitlines()]
    assert [line["n"] for line in lines] == [2, 2, 2]
    assert "generating" not in result.stderr and "executing" not in result.stderr


@pytest.mark.slow
def test_eval_shows_generation_and_execution_progress_on_stderr() -> None:
    result = run(
        "eval", "--model", "tiny", "--dataset", "crucible-basic", "--limit", "3", "--n", "2",
        "--k", "1", "--max-new-tokens", "8",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "generating" in result.stderr and "executing" in result.stderr
    assert result.stderr.count("6/6") == 2  # 3 tasks x 2 samples, each stage
    assert "6/6" not in result.stdout


TINY_RUN = [
    "train",
    "--config",
    "configs/demo.yaml",
    "--set",
    "warm_start.sft_epochs=2",
    "--set",
    "trainer.batch_prompts=2",
    "--set",
    "sampling.n=2",
    "--set",
    "sampling.max_new_tokens=12",
    "--set",
    "data.max_eval_tasks=3",
    "--set",
    "data.eval_samples=2",
    "--set",
    "data.eval_k=[1,2]",
    "--set",
    "trainer.checkpoint_every=1",
    "--set",
    "trainer.eval_every=0",
    "--json",
]


@pytest.mark.slow
def test_train_then_resume_from_the_command_line(tmp_path: Path) -> None:
    common = [*TINY_RUN, "--output-dir", str(tmp_path / "run")]
    first = run(*common, "--set", "trainer.steps=1")
    assert first.returncode == 0, first.stderr
    assert "SFT" in first.stderr and "epoch 2/2 loss" in first.stderr  # the warm start's bar
    assert "grpo" in first.stderr and "1/1" in first.stderr  # the training bar
    resumed = run(*common, "--set", "trainer.steps=2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["steps"] == 2
    assert summary["before"] == json.loads(first.stdout)["before"]
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [row["step"] for row in rows] == [0, 1, 2]
    # Step 0 is the starting model's evaluation, so the curves start where training started.
    assert rows[0]["eval_pass@1"] == summary["before"]["pass@1"]
    assert (tmp_path / "run" / "training_curves.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_training_subset_does_not_change_the_starting_model(tmp_path: Path) -> None:
    common = [*TINY_RUN, "--set", "trainer.steps=1"]
    whole = run(*common, "--output-dir", str(tmp_path / "whole"))
    subset = run(
        *common, "--output-dir", str(tmp_path / "subset"), "--set", "data.max_train_tasks=2"
    )
    assert whole.returncode == 0, whole.stderr
    assert subset.returncode == 0, subset.stderr
    timings = {"generation_s", "sandbox_s"}
    before = [json.loads(result.stdout)["before"] for result in (whole, subset)]
    assert [{k: v for k, v in b.items() if k not in timings} for b in before] == [
        {k: v for k, v in before[0].items() if k not in timings}
    ] * 2


def test_print_config_writes_the_methods_settings_with_descriptions_and_loads_back(
    tmp_path: Path,
) -> None:
    from crucible.kernel.run_config import load_run_config, method_settings
    from crucible.methods.reinforce.config import ReinforceConfig

    result = run("train", "--method", "reinforce", "--print-config")
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("\nmethod:\n", 1)[1]
    assert section.startswith("  name: reinforce\n")
    comments = " ".join(
        line.strip()[2:] for line in section.splitlines() if line.strip().startswith("# ")
    )
    for name, field in ReinforceConfig.model_fields.items():
        assert f"\n  {name}: " in section
        assert field.description is not None and " ".join(field.description.split()) in comments
    printed = tmp_path / "printed.yaml"
    printed.write_text(result.stdout)
    config = load_run_config(printed)
    assert config.method_name == "reinforce"
    assert method_settings(config, ReinforceConfig, str(printed)) == ReinforceConfig()


def test_the_method_has_no_default_training_without_one_is_bad_input() -> None:
    from crucible.kernel.run_config import RunConfig

    assert RunConfig().method == {}
    result = run("train", "--print-config")
    assert result.returncode == 2
    assert "no method: pass --method NAME or set method.name" in result.stderr
