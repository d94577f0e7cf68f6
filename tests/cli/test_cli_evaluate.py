"""``crucible evaluate SAMPLES.jsonl``: bad lines are refused naming their line (before anything
runs, no results file written); real samples are scored on the embedded sandbox into human-eval's
results file with pass@k for the k the sample counts allow, EvalPlus base and plus scores, and a
progress bar on stderr unless ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crucible.cli.main import app
from crucible.evaluation.datasets import load_dataset
from crucible.evaluation.tasks import Task

pytestmark = pytest.mark.timeout(120)

FIXTURES = Path(__file__).parents[1] / "evaluation" / "fixtures"
WRONG = "    return None\n"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def write(path: Path, lines: list[Any]) -> Path:
    """``lines``: JSON values, or raw strings written as they are (one per line)."""
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def humaneval() -> list[Task]:
    return load_dataset("humaneval")[:3]


def canonical(task: Task) -> dict[str, str]:
    return {"task_id": task.task_id, "completion": task.canonical_completion or ""}


@pytest.mark.train  # the HumanEval file comes with human-eval
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "samples.jsonl:2: invalid JSON"),
        ('["HumanEval/0"]', "samples.jsonl:2: expected a JSON object, got list"),
        ({"completion": WRONG}, "samples.jsonl:2: missing key 'task_id'"),
        ({"task_id": 7, "completion": WRONG}, "samples.jsonl:2: key 'task_id' should be str"),
        (
            {"task_id": "HumanEval/999", "completion": WRONG},
            "samples.jsonl:2: unknown task_id 'HumanEval/999': the dataset has no such task "
            "(its ids look like 'HumanEval/0')",
        ),
        (
            {"task_id": "HumanEval/0"},
            "samples.jsonl:2: neither 'completion' (human-eval) nor 'solution' (EvalPlus)",
        ),
        ({"task_id": "HumanEval/0", "completion": None}, "key 'completion' should be str"),
        (
            {"task_id": "HumanEval/0", "solution": "x" * (1 << 21)},
            "samples.jsonl:2: cannot be run:",
        ),
    ],
)
def test_a_bad_line_is_refused_naming_it(
    tmp_path: Path, humaneval: list[Task], line: Any, message: str
) -> None:
    samples = write(tmp_path / "samples.jsonl", [canonical(humaneval[0]), line])
    result = run("evaluate", str(samples))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "samples.jsonl_results.jsonl").exists()


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    samples = write(tmp_path / "samples.jsonl", ["", "   "])
    result = run("evaluate", str(samples))
    assert result.exit_code == 2
    assert "samples.jsonl: no samples (the file is empty)" in " ".join(result.stderr.split())


def test_an_unknown_dataset_and_a_bad_time_limit_are_refused(tmp_path: Path) -> None:
    samples = write(tmp_path / "samples.jsonl", [{"task_id": "x", "completion": ""}])
    unknown = run("evaluate", str(samples), "--dataset", "nope")
    assert unknown.exit_code == 2
    assert "unknown dataset 'nope'" in unknown.stderr
    limit = run("evaluate", str(samples), "--time-limit", "-1")
    assert limit.exit_code == 2
    assert "--time-limit must be greater than 0 seconds, got -1" in limit.stderr


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_samples_are_scored_into_the_results_file(tmp_path: Path, humaneval: list[Task]) -> None:
    first, second, third = humaneval
    lines = [
        canonical(first),
        {"task_id": first.task_id, "completion": WRONG, "model": "kept"},
        canonical(first),  # a duplicate is one more sample, as in human-eval
        "",  # blank lines are skipped, as in human-eval
        {"task_id": second.task_id, "completion": "    while True:\n        pass\n"},
        {"task_id": second.task_id, "solution": second.canonical_solution},
        {"task_id": second.task_id, "completion": "    return 1 / 0\n"},
        {"task_id": third.task_id, "completion": "    return (\n"},
        {"task_id": third.task_id, "solution": third.canonical_solution},
        {"task_id": third.task_id, "completion": WRONG},
    ]
    samples = write(tmp_path / "samples.jsonl", lines)
    result = run("evaluate", str(samples), "--time-limit", "1")
    assert result.exit_code == 0, result.output
    assert "scoring samples" in result.stderr  # the progress bar
    out = results(tmp_path / "samples.jsonl_results.jsonl")
    passed = [True, False, True, False, True, False, False, True, False]
    assert [row["passed"] for row in out] == passed
    assert out[1]["model"] == "kept" and out[1]["completion"] == WRONG
    assert [row["result"] for row in out[3:5]] == ["timed out", "passed"]
    assert out[1]["result"] == "failed: AssertionError"
    assert out[5]["result"] == "failed: ZeroDivisionError: division by zero"
    assert out[6]["result"].startswith("failed: SyntaxError")
    assert out[5]["verdict"]["status"] == "RUNTIME_ERROR"
    assert out[5]["verdict"]["error"]["subtype"] == "LINE"
    assert out[5]["verdict"]["error"]["line"] == 1  # the completion's own first line
    assert out[5]["verdict"]["tests"][0]["status"] == "RUNTIME_ERROR"
    assert out[6]["verdict"]["status"] == "COMPILE_ERROR"
    assert "pass@1" in result.stdout and "pass@10" not in result.stdout
    assert "3 of 164" in result.stdout


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_json_summary_and_pass_at_k_for_every_k_the_counts_allow(
    tmp_path: Path, humaneval: list[Task]
) -> None:
    first, second, _ = humaneval
    lines = [canonical(first)] * 3 + [{"task_id": first.task_id, "completion": WRONG}] * 7
    lines += [canonical(second)] * 10
    samples = write(tmp_path / "samples.jsonl.txt", lines)
    result = run("evaluate", str(samples), "--json")
    assert result.exit_code == 0, result.output
    assert "scoring samples" not in result.stderr
    report = json.loads(result.stdout)
    assert report["samples"] == 20 and report["tasks"] == 2
    # task 1: 3 of 10 pass, task 2: 10 of 10
    assert report["pass_at_k"] == pytest.approx({"pass@1": (0.3 + 1.0) / 2, "pass@10": 1.0})
    assert report["base_pass_at_k"] is None
    assert report["statuses"] == {"PASSED": 13, "WRONG_ANSWER": 7}
    assert report["results_file"] == str(tmp_path / "samples.jsonl.txt_results.jsonl")


def test_evalplus_gets_base_and_plus_scores(tmp_path: Path) -> None:
    dataset = f"evalplus:{FIXTURES / 'evalplus.jsonl'}"
    tasks = {task.task_id: task for task in load_dataset(dataset)}
    mbpp = tasks["Mbpp/2"]
    lines = [
        {"task_id": "HumanEval/0", "completion": "    return len(numbers) == 0\n"},
        {"task_id": "Mbpp/2", "solution": mbpp.canonical_solution},
    ]
    samples = write(tmp_path / "samples.jsonl", lines)
    result = run("evaluate", str(samples), "--dataset", dataset, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["base_pass_at_k"] == {"pass@1": 1.0}
    assert report["pass_at_k"] == {"pass@1": 0.5}
    out = results(tmp_path / "samples.jsonl_results.jsonl")
    assert [(row["base_passed"], row["passed"]) for row in out] == [(True, False), (True, True)]


@pytest.mark.train  # the HumanEval file comes with human-eval
def test_an_unreachable_server_exits_3(tmp_path: Path, humaneval: list[Task]) -> None:
    samples = write(tmp_path / "samples.jsonl", [canonical(humaneval[0])])
    result = run("evaluate", str(samples), "--server", "127.0.0.1:1", "--json")
    assert result.exit_code == 3, result.output
    assert "UNAVAILABLE" in result.stderr
