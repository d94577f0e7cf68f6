"""``crucible evaluate``: score a file of samples someone else generated (the human-eval and
EvalPlus workflow). ``crucible eval`` is its sibling that generates the samples itself from a
model; this command needs no model and no training stack.

The scoring is :mod:`evaluation.samples`; this module parses flags, renders the report and maps
failures to exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crucible.cli.check import MemoryLimitOption, TimeLimitOption, limits_from_flags
from crucible.cli.common import EXIT_CODES_HELP, ExitCode, fail
from crucible.evaluation.compose import load_tasks, open_sandbox
from crucible.evaluation.samples import SamplesFileError, SamplesReport, evaluate_samples
from crucible.sandbox_service.client import SandboxError
from crucible.sandbox_service.engine import RequestRejected


def register(root: typer.Typer) -> None:
    root.command("evaluate", epilog=EXIT_CODES_HELP)(evaluate_command)


def evaluate_command(
    samples: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="SAMPLES.jsonl",
            help="One JSON object per line: task_id and completion (human-eval) or solution "
            "(EvalPlus); .jsonl.gz too.",
        ),
    ],
    dataset: Annotated[
        str,
        typer.Option(
            help="humaneval, crucible-basic, crucible-steps, or FORMAT:PATH (mbpp:, "
            "mbpp-sanitized:, evalplus:, apps:, codecontests:)."
        ),
    ] = "humaneval",
    split: Annotated[str | None, typer.Option(help="Split of the dataset (its default).")] = None,
    time_limit: TimeLimitOption = None,
    memory_limit: MemoryLimitOption = None,
    server: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ADDRESS",
            help="Sandbox server address (repeat to balance); default: an embedded sandbox "
            "(pooled isolation).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object (no progress bar).")
    ] = False,
) -> None:
    """Score SAMPLES.jsonl: write SAMPLES.jsonl_results.jsonl beside it (every line with
    passed, result and Crucible's verdict) and print pass@k.

    Several lines may name one task (its samples); pass@k is shown for each k of 1, 10, 100
    that every scored task has samples for; EvalPlus datasets also get base-input pass@k.
    Exit 0 when every sample was scored, whatever its verdict.
    """
    limits = limits_from_flags(time_limit, memory_limit)
    tasks = load_tasks(dataset, split)
    with open_sandbox(server or [], None, "pooled") as sandbox:
        try:
            report = evaluate_samples(samples, tasks, sandbox, limits=limits, progress=not as_json)
        except SamplesFileError as exc:
            fail(ExitCode.BAD_INPUT, str(exc))
        except RequestRejected as exc:
            fail(ExitCode.BAD_INPUT, str(exc))
        except SandboxError as exc:
            rejected = exc.code == "INVALID_ARGUMENT"
            fail(ExitCode.BAD_INPUT if rejected else ExitCode.UNAVAILABLE, f"sandbox: {exc}")
    if as_json:
        typer.echo(report.model_dump_json())
    else:
        _print_report(report, f"{samples} on {dataset}", Console())
    if report.sandbox_errors:
        fail(
            ExitCode.UNAVAILABLE,
            f"{report.sandbox_errors} samples got SANDBOX_ERROR (the sandbox failed, not the "
            f"program); they count as failed in {report.results_file}",
        )


def _print_report(report: SamplesReport, title: str, console: Console) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.pass_at_k.items():
        table.add_row(name, f"{value:.4f}")
    for name, value in (report.base_pass_at_k or {}).items():
        table.add_row(f"base {name}", f"{value:.4f}")
    table.add_row("samples", str(report.samples))
    table.add_row("tasks", f"{report.tasks} of {report.dataset_tasks}")
    table.add_row("statuses", ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items())))
    subtypes = sorted(report.error_subtypes.items())
    table.add_row("error subtypes", ", ".join(f"{k} {v}" for k, v in subtypes) or "-")
    console.print(table)
    console.print(f"results: {report.results_file}", highlight=False, soft_wrap=True)
