"""FGO's ceiling on a task suite: the share of completion tokens StepCoder's mask would take out
of the loss if the policy wrote the reference solution, at every stage of its CCCS curriculum.

Why: the learning benchmark reports ``fgo_masked_token_fraction`` over the policy's own
completions. A small value can mean a broken mask, a policy that writes little unexecuted code,
or a suite that holds little; this tells them apart. It runs the references themselves through
the real sandbox (pooled nsjail, coverage on) as a StepCoder rollout runs: the task's prelude
and the stage's head (:func:`methods.stepcoder.curriculum.answer_prefix`) before the
completion, which is the rest of the reference. Each completion is tokenized as the sampler
returns one (the tokenizer's ids, offsets from their bytes, the end-of-sequence token last) and
masked by the plugin's own :func:`methods.stepcoder.fgo.fgo_mask`.

Stages are numbered as ``cccs_stage_mean`` numbers them: 1 is the first stage (the head reaches
the start point nearest the end); a task's last stage is plain generation. The "whole program"
rows are what FGO can mask when the policy writes whole bodies (CCCS's last stage, or CCCS off),
over the canonical reference and over every reference.

``python -m crucible.benchmarks.fgo_ceiling`` prints a table and writes
``benchmarks/results/fgo_ceiling.{json,md}`` (or ``--out``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from crucible.benchmarks.common import machine_description, markdown_table
from crucible.evaluation.datasets.registry import load_dataset
from crucible.evaluation.problems import to_problem
from crucible.evaluation.tasks import Task
from crucible.kernel.models import resolve_folder
from crucible.kernel.progress import progress_bar
from crucible.kernel.sandbox import SandboxHandle
from crucible.kernel.token_text import TokenBytes, decode_with_offsets
from crucible.methods.stepcoder.config import StepCoderConfig
from crucible.methods.stepcoder.curriculum import answer_prefix, curriculum, head, start_points
from crucible.methods.stepcoder.fgo import fgo_mask
from crucible.sandbox_service.models import ExecuteRequest, Status

RESULTS = Path(__file__).with_name("results") / "fgo_ceiling"
WHOLE_CANONICAL = "whole program, canonical reference"
WHOLE_EVERY = "whole program, every reference"


@dataclass(frozen=True)
class Completion:
    """One reference completion at one stage, and the rows it counts in."""

    rows: tuple[str, ...]
    request: ExecuteRequest
    """Its ``source`` is the completion."""


class Row(BaseModel):
    """FGO's mask over the completions of one row."""

    row: str
    completions: int
    tokens: int
    masked_tokens: int
    masked_fraction: float
    completions_with_masked_tokens: float
    """Share of the row's completions with at least one masked token."""


class Report(BaseModel):
    suite: str
    split: str
    tokenizer: str
    tasks: int
    machine: str
    rows: list[Row]


def completions(suite: str, split: str, limit: int | None = None) -> list[Completion]:
    """Every reference completion of the suite's tasks at every CCCS stage (StepCoder's default
    settings), as the requests a StepCoder rollout sends (coverage on)."""
    settings = StepCoderConfig()
    found: list[Completion] = []
    for task in load_dataset(suite, split)[:limit]:
        problem = to_problem(task)
        scope = problem.metadata.get("scope") if settings.use_scope else None
        points = start_points(problem.reference_solution, problem.program_prefix, scope)
        stages = curriculum(points, settings.stride)
        for number, lines in enumerate(stages, start=1):
            prefix = answer_prefix(head(problem.reference_solution, lines))
            rows = [f"stage {number}"]
            if lines == 0:
                rows += [WHOLE_CANONICAL, WHOLE_EVERY]
            text = problem.reference_solution[len(prefix) :]
            found.append(_completion(task, text, problem.program_prefix + prefix, rows))
        for text in task.reference_completions[1:]:
            found.append(_completion(task, text, problem.program_prefix, [WHOLE_EVERY]))
    return found


def _completion(task: Task, text: str, prelude: str, rows: Sequence[str]) -> Completion:
    request = task.to_request(text, request_id=task.task_id, collect_coverage=True)
    return Completion(tuple(rows), request.model_copy(update={"prelude": prelude}))


def token_offsets(tokenizer: object, token_bytes: TokenBytes, text: str) -> list[tuple[int, int]]:
    """The character span of each token of ``text`` as the sampler reports a completion that
    ended on the end-of-sequence token: spans from the ids' bytes, then an empty span."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    decoded, offsets = decode_with_offsets(token_bytes, ids)
    if decoded != text:
        raise ValueError(f"the tokenizer does not round-trip {text[:40]!r}")
    return [*offsets, (len(text), len(text))]


def measure(
    suite: str, split: str, tokenizer_name: str, limit: int | None = None, progress: bool = True
) -> Report:
    """Run every reference completion in the sandbox and mask it; one row per stage number and
    the two whole-program rows. Raises if a reference does not pass: its mask would not be a
    ceiling of anything."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_folder(tokenizer_name))
    token_bytes = TokenBytes(tokenizer)
    todo = completions(suite, split, limit)
    with SandboxHandle() as sandbox, progress_bar("references", len(todo), enabled=progress) as bar:
        verdicts = sandbox.execute([c.request for c in todo], on_verdict=bar.advance)
    counts: dict[str, list[tuple[int, int]]] = {}
    for completion, verdict in zip(todo, verdicts, strict=True):
        if verdict.status is not Status.PASSED:
            raise RuntimeError(
                f"{completion.request.request_id}: a reference completion got {verdict.status.name}"
            )
        offsets = token_offsets(tokenizer, token_bytes, completion.request.source)
        mask, _ = fgo_mask(
            offsets, completion.request.source, verdict.executed_lines, verdict.executable_lines
        )
        for row in completion.rows:
            counts.setdefault(row, []).append((len(mask), len(mask) - int(sum(mask))))
    stages = sorted((row for row in counts if row.startswith("stage ")), key=lambda r: int(r[6:]))
    order = [*stages, WHOLE_CANONICAL, WHOLE_EVERY]
    rows = []
    for name in order:
        pairs = counts[name]
        tokens, masked = sum(t for t, _ in pairs), sum(m for _, m in pairs)
        rows.append(
            Row(
                row=name,
                completions=len(pairs),
                tokens=tokens,
                masked_tokens=masked,
                masked_fraction=masked / tokens,
                completions_with_masked_tokens=sum(m > 0 for _, m in pairs) / len(pairs),
            )
        )
    tasks = len({c.request.request_id for c in todo})
    return Report(
        suite=suite,
        split=split,
        tokenizer=tokenizer_name,
        tasks=tasks,
        machine=machine_description(),
        rows=rows,
    )


def table(report: Report) -> str:
    """The report as a Markdown table."""
    header = ("completions", "n", "tokens", "masked", "masked fraction", "with a masked token")
    return markdown_table(
        header,
        [
            (
                row.row,
                str(row.completions),
                str(row.tokens),
                str(row.masked_tokens),
                f"{row.masked_fraction:.3f}",
                f"{row.completions_with_masked_tokens:.2f}",
            )
            for row in report.rows
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="crucible-steps")
    parser.add_argument("--split", default="train", help="the split StepCoder trains on")
    parser.add_argument("--tokenizer", default="tiny-steps", help="a built-in model or a folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results path, no suffix")
    args = parser.parse_args()
    report = measure(args.suite, args.split, args.tokenizer, args.limit)
    text = table(report)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(report.model_dump_json(indent=2) + "\n")
    heading = (
        f"# FGO's ceiling on {report.suite} ({report.split}, {report.tasks} tasks, "
        f"{report.tokenizer} tokens)\n\n"
        "The share of completion tokens StepCoder's FGO mask takes out of the loss when the "
        "completion is the reference itself, run in the real sandbox with coverage; stage 1 "
        "is CCCS's first stage. Written by `python -m crucible.benchmarks.fgo_ceiling`.\n\n"
    )
    args.out.with_suffix(".md").write_text(heading + text + "\n")
    print(f"wrote {args.out}.{{json,md}}")


if __name__ == "__main__":
    main()
