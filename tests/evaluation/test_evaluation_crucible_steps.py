"""The built-in crucible-steps suite: every property its generator promises, computed from the
shipped JSONL, and every reference run in the real pooled sandbox."""

from __future__ import annotations

import ast
import statistics
from collections import defaultdict

import pytest
from real_engine import LocalEngine  # tests/sandbox, on the path through tests/conftest.py

from crucible.evaluation.data import build_crucible_steps
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import ExecuteResponse, Status


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return load_dataset("crucible-steps")


def family(task: Task) -> str:
    return task.task_id.split("/")[1]


def test_committed_file_is_what_the_generator_writes() -> None:
    committed = build_crucible_steps.OUTPUT.read_text(encoding="utf-8")
    assert committed == build_crucible_steps.render(), (
        "run `python -m crucible.evaluation.data.build_crucible_steps` to regenerate"
    )


def test_size_families_and_reference_lengths(tasks: list[Task]) -> None:
    assert len(tasks) >= 400
    assert len({task.entry_point for task in tasks}) == len(tasks)
    assert len({family(task) for task in tasks}) >= 30
    for task in tasks:
        for completion in task.reference_completions:
            assert 6 <= len(completion.splitlines()) <= 30, task.task_id


@pytest.mark.train  # StepCoder is a training method: importing it needs torch
def test_references_branch_into_a_multi_stage_curriculum(tasks: list[Task]) -> None:
    """StepCoder's own start points: >= 70 % of references have two or more, and the median
    curriculum has >= 3 stages."""
    from crucible.methods.stepcoder.curriculum import curriculum, start_points

    points = [
        start_points(completion, task.prompt)
        for task in tasks
        for completion in task.reference_completions
    ]
    assert sum(len(p) >= 2 for p in points) >= 0.7 * len(points)
    assert statistics.median(len(curriculum(p)) for p in points) >= 3


def test_most_tasks_have_references_of_different_shapes(tasks: list[Task]) -> None:
    several = [task for task in tasks if len(task.reference_completions) >= 2]
    assert len(several) >= 0.5 * len(tasks)
    for task in several:
        shapes = {ast.dump(ast.parse(task.program(c))) for c in task.reference_completions}
        assert len(shapes) == len(task.reference_completions), task.task_id


def test_docstring_example_is_not_a_hidden_test(tasks: list[Task]) -> None:
    for task in tasks:
        shown = task.prompt.split(">>> ", 1)[1].split("\n", 1)[0]
        calls = [example.args for example in task.examples]
        assert ast.literal_eval(shown.removeprefix(str(task.entry_point))) not in [
            tuple(args) if len(args) > 1 else args[0] for args in calls
        ], task.task_id
        assert all(f"{shown})" not in test.body.model_dump_json() for test in task.tests)


def test_held_out_split_has_new_constants_and_new_families(tasks: list[Task]) -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    for task in tasks:
        splits[family(task)].add(task.split)
    unseen = [name for name, seen in splits.items() if seen == {"test"}]
    shared = [name for name, seen in splits.items() if seen == {"train", "test"}]
    assert len(unseen) >= 8
    assert len(shared) >= 25  # their test tasks are constants never trained on
    assert sum(task.split == "test" for task in tasks) >= 100
    assert set().union(*splits.values()) == {"train", "test"}


def _statement_lines(task: Task, completion: str) -> set[int]:
    offset = len(task.prompt.splitlines())
    tree = ast.parse(task.program(completion))
    return {
        node.lineno - offset
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node.lineno > offset
    }


@pytest.fixture(scope="module")
def verdicts(
    tasks: list[Task], pooled_engine: LocalEngine
) -> dict[tuple[str, int], ExecuteResponse]:
    """Every reference of every task run with coverage in the real pooled sandbox."""
    keys = [(task, index) for task in tasks for index in range(len(task.reference_completions))]
    requests = [
        task.to_request(task.reference_completions[index], collect_coverage=True)
        for task, index in keys
    ]
    responses = pooled_engine.run_all(requests)
    return {(task.task_id, index): r for (task, index), r in zip(keys, responses, strict=True)}


@pytest.mark.slow
def test_every_reference_passes_every_hidden_test(
    tasks: list[Task], verdicts: dict[tuple[str, int], ExecuteResponse]
) -> None:
    failing = [key for key, verdict in verdicts.items() if verdict.status is not Status.PASSED]
    assert not failing, failing[:5]
    assert len(verdicts) == sum(len(task.reference_completions) for task in tasks)


@pytest.mark.slow
def test_hidden_tests_leave_branches_of_passing_code_unexecuted(
    tasks: list[Task], verdicts: dict[tuple[str, int], ExecuteResponse]
) -> None:
    """FGO has code to mask in a passing program: in >= 30 % of tasks the canonical reference
    has statements no hidden test executes."""
    partial = []
    for task in tasks:
        verdict = verdicts[(task.task_id, 0)]
        assert verdict.coverage_collected, task.task_id
        completion = task.reference_completions[0]
        if _statement_lines(task, completion) - set(verdict.executed_lines):
            partial.append(task.task_id)
    assert len(partial) >= 0.3 * len(tasks), len(partial)


@pytest.mark.slow
def test_plausible_wrong_solutions_raise_on_their_line(
    tasks: list[Task], pooled_engine: LocalEngine
) -> None:
    pitfalls = [
        (task, found)
        for task in tasks
        if (found := build_crucible_steps.pitfall_completion(task)) is not None
    ]
    errors = {pitfall.error for _, (_, pitfall) in pitfalls}
    assert {"IndexError", "KeyError", "TypeError", "ZeroDivisionError"} <= errors
    responses = pooled_engine.run_all([task.to_request(body) for task, (body, _) in pitfalls])
    for (task, (_, pitfall)), response in zip(pitfalls, responses, strict=True):
        raised = [t.error for t in response.tests if t.error is not None and t.error.type]
        assert raised, task.task_id
        assert (raised[0].type, raised[0].line) == (pitfall.error, pitfall.line), task.task_id
