"""``crucible bench``: the reproducible benchmarks whose results live in benchmarks/results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from crucible.cli.common import EXIT_CODES_HELP, ExitCode, fail

app = typer.Typer(
    help="Reproducible benchmarks (results in benchmarks/results/).", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bench", epilog=EXIT_CODES_HELP)


def _interval(value: Any) -> str:
    return "–" if value is None else f"[{value[1]:+.3f}, {value[2]:+.3f}]"


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"{value[0]:.3f}±{value[1]:.3f}"
    return "–" if value is None else str(value)


@app.command("learning", epilog=EXIT_CODES_HELP)
def learning_command(
    quick: Annotated[
        bool, typer.Option(help="Smoke run: 1 seed, budget 256, 20 held-out tasks, no ablations.")
    ] = False,
    suite: Annotated[
        str, typer.Option(help="Task suite: crucible-steps or crucible-basic.")
    ] = "crucible-steps",
    model: Annotated[
        str | None,
        typer.Option(
            help="Policy: tiny, tiny-steps, smollm2-135m or a path (default: the suite's, "
            "tiny-steps for crucible-steps, tiny for crucible-basic)."
        ),
    ] = None,
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
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Runs trained at once, each in its own process and sandbox "
            "(default: one per core; one with a CUDA device).",
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option(help="Discard the finished runs in the workdir and start over.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary rows as JSON.")
    ] = False,
) -> None:
    """Train every method from the same SFT'd start under the same budget, over several seeds,
    and compare held-out pass@1, pass@5 (and pass@1 after a refinement round with --quick), each
    pass@1 and difference
    with a 95% bootstrap interval over tasks and seeds; writes
    benchmarks/results/learning{,_quick}.{md,json,png} (learning_basic{,_quick} with --suite
    crucible-basic). A finished run is reused when the command
    is run again (--fresh discards them). Exits 1 when a method does not beat its start, i.e. the
    interval of its difference does not lie above zero (not with --quick, whose budget is too
    small to judge by)."""
    import shutil

    from crucible.benchmarks.learning import Plan, run_benchmark

    changes: dict[str, Any] = {"suite": suite, "model": model}
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
    if jobs is not None:
        changes["jobs"] = jobs
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
        table = Table(
            title=f"held-out results ({plan.suite}, {plan.policy}, seeds {list(plan.seeds)})"
        )
        columns = ("variant", "pass@1", "Δ vs start", "Δ 95% CI", "improved", "pass@5")
        for column in (*columns, "refine 1", "2"):
            table.add_column(
                column, justify="left" if column == "variant" else "right", no_wrap=True
            )
        for row in rows:
            improved = row.get("seeds_improved")
            table.add_row(
                row["variant"],
                _cell(row.get("pass@1")),
                _cell(row.get("delta_pass@1")),
                _interval(row.get("delta_pass@1_ci")),
                "–" if improved is None else f"{improved}/{row['seeds']}",
                _cell(row.get("pass@5")),
                _cell(row.get("pass@1_round1")),
                _cell(row.get("pass@1_round2")),
            )
        Console(width=max(Console().width, 120)).print(table)
        Console().print(f"results: benchmarks/results/{plan.stem}.{{md,json,png}}")
    losers = [r["variant"] for r in rows[1:] if not r["ablation_of"] and not r["beats_start"]]
    if losers:
        console.print(f"[red]did not beat the starting model: {', '.join(losers)}[/red]")
        if not quick:  # a smoke run's budget is too small to judge learning by
            raise typer.Exit(ExitCode.NOT_PASSED)


@app.command("efficiency", epilog=EXIT_CODES_HELP)
def efficiency_command(
    quick: Annotated[
        bool, typer.Option(help="Smoke run: 1 seed, 8 samples per problem (~1 min on 2 cores).")
    ] = False,
    seeds: Annotated[
        list[int] | None, typer.Option("--seed", help="Seeds (repeatable); default 0 1 2.")
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(help="Codes sampled per problem from each model (default 16, quick 8)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary and the verdict as JSON.")
    ] = False,
) -> None:
    """Do CodeDPO's efficiency pairs make the model write faster code? On a built-in task set
    whose problems each have a fast and a slow correct solution, per seed: SFT the tiny model
    on both, build CodeDPO's pairs and train DPO on them; re-time every efficiency pair with
    fresh runs; on held-out problems compare pass@1, the fast-variant share and the CPU time of
    passing code before and after DPO. Writes
    benchmarks/results/codedpo_efficiency{,_quick}.{md,json}. Exits 1 when held-out passing
    code is not faster on average after DPO or its pass@1 fell by more than 0.05 (not with
    --quick, whose single seed is too little to judge by)."""
    from crucible.benchmarks.codedpo_efficiency import (
        Plan,
        code_table,
        headline,
        pair_table,
        run_benchmark,
    )
    from crucible.sandbox_service.engine.jail import JailUnavailable

    changes: dict[str, Any] = {}
    if seeds:
        changes["seeds"] = tuple(seeds)
    if samples is not None:
        changes["samples"] = samples
    try:
        plan = Plan.quick(**changes) if quick else Plan(**changes)
    except ValueError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    console = Console(stderr=True)
    try:
        report = run_benchmark(plan, lambda line: console.print(line))
    except JailUnavailable as exc:
        fail(ExitCode.UNAVAILABLE, str(exc))
    if as_json:
        typer.echo(json.dumps({"summary": report["summary"], "verdict": report["verdict"]}))
    else:
        out = Console(width=max(Console().width, 120))
        pairs = Table(title=f"efficiency pairs (seeds {list(plan.seeds)})")
        for column in ("metric", "mean ± sd"):
            pairs.add_column(column, justify="left" if column == "metric" else "right")
        for pair_row in pair_table(report["summary"]):
            pairs.add_row(*pair_row)
        code = Table(title="generated code before and after DPO")
        for column in ("metric", "before DPO", "after DPO", "change"):
            code.add_column(column, justify="left" if column == "metric" else "right")
        for code_row in code_table(report["summary"]):
            code.add_row(*code_row)
        out.print(pairs, code, headline(report))
        out.print(f"results: benchmarks/results/{plan.results_name}.{{md,json}}")
    if not report["verdict"]["passed"] and not quick:
        console.print("[red]DPO did not make held-out code faster at kept pass@1[/red]")
        raise typer.Exit(ExitCode.NOT_PASSED)
