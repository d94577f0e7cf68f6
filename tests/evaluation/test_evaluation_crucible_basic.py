"""The built-in crucible-basic suite: size, determinism, splits, and correct solutions."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from crucible.evaluation.data import build_crucible_basic
from crucible.evaluation.datasets.packaged import load_crucible_basic
from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import AssertTest


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return load_crucible_basic()


def family(task: Task) -> str:
    return task.task_id.split("/")[1]


def test_committed_file_is_what_the_generator_writes() -> None:
    committed = build_crucible_basic.OUTPUT.read_text(encoding="utf-8")
    assert committed == build_crucible_basic.render(), (
        "run `python -m crucible.evaluation.data.build_crucible_basic` to regenerate"
    )


def test_size_and_unique_ids(tasks: list[Task]) -> None:
    assert len(tasks) >= 200
    assert len({task.task_id for task in tasks}) == len(tasks)
    assert len({task.entry_point for task in tasks}) == len(tasks)


def test_every_multi_task_family_is_in_both_splits(tasks: list[Task]) -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    for task in tasks:
        splits[family(task)].add(task.split)
    counts = Counter(family(task) for task in tasks)
    for name, seen in splits.items():
        assert seen == ({"train", "test"} if counts[name] > 1 else {"train"}), name
    held_out = sum(task.split == "test" for task in tasks) / len(tasks)
    assert 0.15 <= held_out <= 0.25


def test_tasks_are_humaneval_style_with_examples(tasks: list[Task]) -> None:
    for task in tasks:
        assert task.layout == "prompt_plus_completion"
        assert task.prompt.startswith(f"def {task.entry_point}(")
        assert f">>> {task.entry_point}(" in task.prompt
        assert 3 <= len(task.tests) <= 5
        assert len(task.examples) == len(task.tests)


def test_canonical_solutions_pass_and_tests_discriminate(tasks: list[Task]) -> None:
    for task in tasks:
        assert task.canonical_completion is not None
        good: dict[str, object] = {}
        exec(task.program(task.canonical_completion), good)
        wrong: dict[str, object] = {}
        exec(task.program("    return None\n"), wrong)
        failures = 0
        for test, example in zip(task.tests, task.examples, strict=True):
            assert isinstance(test.body, AssertTest)
            exec(test.body.code, good)
            assert good["_out"] == example.expected, task.task_id
            try:
                exec(test.body.code, wrong)
            except AssertionError as error:
                assert str(error) == "None"  # the message carries the actual value
                failures += 1
        assert failures > 0, f"{task.task_id}: a function returning None passes every test"
