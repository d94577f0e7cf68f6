"""``crucible eval``: pass@k of a model on a dataset, through the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from crucible.cli.common import EXIT_CODES_HELP, ExitCode, fail
from crucible.evaluation.compose import load_policy, load_tasks, open_sandbox


def register(root: typer.Typer) -> None:
    root.command("eval", epilog=EXIT_CODES_HELP)(eval_command)


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        fail(ExitCode.BAD_INPUT, f"--k must be comma-separated integers, got {text!r}")
    if not ks or min(ks) < 1:
        fail(ExitCode.BAD_INPUT, f"--k values must be >= 1, got {text!r}")
    return ks


def print_eval_summary(title: str, summary: dict[str, Any], console: Console) -> None:
    """A human table of one evaluation's scores and breakdowns."""
    table = Table(title=title, show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
        elif isinstance(value, dict):
            table.add_row(key, ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "-")
        else:
            table.add_row(key, str(value))
    console.print(table)


def eval_command(
    model: Annotated[str, typer.Option(help="tiny, smollm2-135m, or a local model folder.")],
    dataset: Annotated[
        str,
        typer.Option(
            help="humaneval, crucible-basic, crucible-steps, or FORMAT:PATH (mbpp:, apps:, ...)."
        ),
    ] = "humaneval",
    split: Annotated[str | None, typer.Option(help="Split to evaluate (dataset default).")] = None,
    k: Annotated[str, typer.Option("--k", help="Comma-separated k of pass@k.")] = "1,10",
    n: Annotated[int, typer.Option(min=1, help="Samples per task.")] = 20,
    temperature: Annotated[float, typer.Option(min=0, help="0 = one greedy sample.")] = 0.8,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 256,
    refine_rounds: Annotated[
        int, typer.Option(min=0, help="Self-refine rounds with CYCLE's execution feedback.")
    ] = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N tasks.")] = None,
    chat: Annotated[bool, typer.Option(help="Use the tokenizer's chat template.")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    server: Annotated[
        list[str] | None, typer.Option(help="Sandbox server address (repeat to balance).")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write one JSON line per task here.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (no progress bars).")
    ] = False,
) -> None:
    """Measure a model: unbiased pass@k, results by verdict status and error subtype, timing,
    and pass@1 after each self-refine round. (To score samples generated elsewhere, use
    crucible evaluate.)"""
    from crucible.evaluation.evaluate import EvalSettings, evaluate
    from crucible.kernel.config import ModelConfig

    ks = _ks(k)
    tasks = load_tasks(dataset, split, limit)
    policy, tokenizer = load_policy(ModelConfig(name_or_path=model))
    settings = EvalSettings(
        n=n,
        ks=ks,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        chat=chat,
        seed=seed,
        refine_rounds=refine_rounds,
        progress=not as_json,
    )
    with open_sandbox(server or [], None, "pooled") as sandbox:
        result = evaluate(policy, tokenizer, tasks, sandbox, settings)
    summary = {"model": model, "dataset": dataset, **result.summary()}
    if output is not None:
        output.write_text("".join(json.dumps(row) + "\n" for row in result.rows))
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        print_eval_summary(f"{model} on {dataset}", summary, Console())
