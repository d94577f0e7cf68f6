"""``crucible codedpo build-pairs``: CodeDPO's data construction on its own.

Published under the ``crucible.commands`` entry-point group, so the command line gains it the
way it gains the method itself. Like any plugin command it imports nothing of ``crucible.cli``:
bad input raises the library's typed errors, which the command line reports with its exit codes
(docs/plugins.md, "Adding a command"). It starts from the same policy ``crucible train`` would (the
run's model plus its warm start), so pairs built here and passed back with
``--set method.pairs_file=…`` are the pairs the run would have built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crucible.evaluation.compose import (
    InputError,
    load_policy,
    load_tasks,
    open_sandbox,
    warm_start,
)
from crucible.methods.codedpo.config import CodeDPOConfig
from crucible.methods.codedpo.pairs import write_pairs

app = typer.Typer(
    name="codedpo",
    help="CodeDPO (arXiv 2410.05605): build self-verified preference pairs.",
    no_args_is_help=True,
)


@app.command("build-pairs")
def build_pairs_command(
    output: Annotated[Path, typer.Option(help="Where to write the pairs (JSON lines).")],
    config: Annotated[
        Path | None, typer.Option(help="Run config YAML (model, sampling, sandbox, data, method).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: section.key=value (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Sample codes and tests from the run's model on its training split, run every code against
    every test in the sandbox, rank them by self-verification, time the trusted ones, and write
    the prompt/chosen/rejected pairs with their provenance; the counts go beside them
    (OUTPUT with suffix .stats.json). Train on them with
    `crucible train --method codedpo --set method.pairs_file=OUTPUT`."""
    from crucible.evaluation.problems import to_problems
    from crucible.kernel.run_config import load_run_config, method_settings
    from crucible.methods.codedpo.build import pair_builder

    run = load_run_config(config, [*(overrides or []), "method.name=codedpo"])
    settings = method_settings(run, CodeDPOConfig, str(config or "<defaults>"))
    if settings.pairs_file is not None:
        raise InputError("method.pairs_file is set: build-pairs writes pairs, --output")
    console = Console(stderr=True)
    split = load_tasks(run.data.dataset, run.data.train_split)
    tasks = split[: run.data.max_train_tasks or None]
    model, tokenizer = load_policy(run.model)
    warm_start(run, model, tokenizer, split, console)
    with open_sandbox(run.sandbox.addresses, run.sandbox.workers, run.sandbox.isolation) as sandbox:
        console.print(f"building pairs for {len(tasks)} problems")
        built = pair_builder(run, model, tokenizer, sandbox, settings).build(to_problems(tasks))
    write_pairs(output, built.pairs)
    output.with_suffix(".stats.json").write_text(json.dumps(built.stats, indent=2))
    if as_json:
        typer.echo(json.dumps(built.stats))
        return
    table = Table(title=f"pairs written to {output}")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in built.stats.items():
        table.add_row(key, f"{value:g}")
    Console().print(table)
