"""``crucible bench``: the reproducible benchmarks whose results live in benchmarks/results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import EXIT_CODES_HELP, ExitCode, fail

app = typer.Typer(
    help="Reproducible benchmarks (results in benchmarks/results/).", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bench", epilog=EXIT_CODES_HELP)


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"{value[0]:.3f}±{value[1]:.3f}"
    return "–" if value is None else str(value)


@app.command("learning", epilog=EXIT_CODES_HELP)
def learning_command(
    quick: Annotated[
        bool, typer.Option(help="Smoke run: 1 seed, budget 256, 20 held-out tasks, no ablations.")
    ] = False,
    model: Annotated[str, typer.Option(help="Policy: tiny, smollm2-135m or a path.")] = "tiny",
    seeds: Annotated[
        list[int] | None, typer.Option("--seed", help="Seeds (repeatable); default 0 1 2.")
    ] = None,
    budget: Annotated[
        int | None, typer.Option(help="Generated completions per training run.")
    ] = None,
    methods: Annotated[
        list[str] | None,
        typer.Option("--method", help="Methods to run (repeatable); default all five."),
    ] = None,
    ablations: Annotated[bool, typer.Option(help="Add the ablation rows.")] = True,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a run-config value (repeatable): KEY=VALUE for every run, "
            "METHOD:KEY=VALUE for one method's runs, start:KEY=VALUE for the starting model "
            "(e.g. --set start:warm_start.lr=1e-5 --set trainer.lr=1e-6 for smollm2-135m).",
        ),
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Where runs are kept and resumed from.")
    ] = None,
    fresh: Annotated[
        bool, typer.Option(help="Discard the finished runs in the workdir and start over.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary rows as JSON.")
    ] = False,
) -> None:
    """Train every method from the same SFT'd start under the same budget, over several seeds,
    and compare held-out pass@1, pass@5 and pass@1 after refinement; writes
    benchmarks/results/learning{,_quick}.{md,json,png}. A finished run is reused when the command
    is run again (--fresh discards them). Exits 1 when a method does not beat its start (not
    with --quick, whose budget is too small to judge by)."""
    import shutil

    from benchmarks.learning import Plan, run_benchmark

    changes: dict[str, Any] = {"model": model}
    if seeds:
        changes["seeds"] = tuple(seeds)
    if budget is not None:
        changes["budget"] = budget
    if methods:
        changes["methods"] = tuple(methods)
    if not ablations:
        changes["ablations"] = False
    if overrides:
        changes["overrides"] = tuple(overrides)
    if workdir is not None:
        changes["workdir"] = workdir
    try:
        plan = Plan.quick(**changes) if quick else Plan(**changes)
        plan.variants()
    except ValueError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    if quick and workdir is None:
        plan = plan.model_copy(update={"workdir": Path("runs/bench-learning-quick")})
    if fresh and plan.workdir.exists():
        shutil.rmtree(plan.workdir)
    console = Console(stderr=True)
    report = run_benchmark(plan, lambda line: console.print(line))
    rows = report["rows"]
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        table = Table(title=f"held-out results ({plan.model}, seeds {list(plan.seeds)})")
        for column in ("variant", "pass@1", "Δ vs start", "improved", "pass@5", "refine 1", "2"):
            table.add_column(
                column, justify="left" if column == "variant" else "right", no_wrap=True
            )
        for row in rows:
            improved = row.get("seeds_improved")
            table.add_row(
                row["variant"],
                _cell(row.get("pass@1")),
                _cell(row.get("delta_pass@1")),
                "–" if improved is None else f"{improved}/{row['seeds']}",
                _cell(row.get("pass@5")),
                _cell(row.get("pass@1_round1")),
                _cell(row.get("pass@1_round2")),
            )
        Console(width=max(Console().width, 120)).print(table)
        Console().print(f"results: benchmarks/results/{plan.results_name}.{{md,json,png}}")
    losers = [r["variant"] for r in rows[1:] if not r["ablation_of"] and not r["beats_start"]]
    if losers:
        console.print(f"[red]did not beat the starting model: {', '.join(losers)}[/red]")
        if not quick:  # a smoke run's budget is too small to judge learning by
            raise typer.Exit(ExitCode.NOT_PASSED)
