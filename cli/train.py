"""``crucible train``: warm start, evaluate, train with a method plugin, evaluate again."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from crucible.cli.common import EXIT_CODES_HELP, ExitCode, fail
from crucible.evaluation.compose import load_policy, load_tasks, open_sandbox, warm_start

if TYPE_CHECKING:
    from crucible.evaluation.evaluate import EvalSettings
    from crucible.kernel.run_config import RunConfig

SUMMARY_FILE = "summary.json"
BEFORE_FILE = "eval_before.json"


def register(root: typer.Typer) -> None:
    root.command("train", epilog=EXIT_CODES_HELP)(train_command)
    root.command("methods", epilog=EXIT_CODES_HELP)(methods_command)


def _eval_settings(config: RunConfig) -> EvalSettings:
    from crucible.evaluation.evaluate import EvalSettings

    return EvalSettings(
        n=config.data.eval_samples,
        ks=config.data.eval_k,
        temperature=config.data.eval_temperature,
        max_new_tokens=config.sampling.max_new_tokens,
        stop=config.sampling.stop or EvalSettings().stop,
        chat=config.data.chat,
        seed=config.trainer.seed,
        refine_rounds=config.data.eval_refine_rounds,
        limits=config.sandbox.limits(),
    )


def _comparison(before: dict[str, Any], after: dict[str, Any], console: Console) -> None:
    table = Table(title="held-out evaluation")
    table.add_column("metric")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for key, value in after.items():
        if key.startswith("pass@"):
            table.add_row(key, f"{before.get(key, float('nan')):.4f}", f"{value:.4f}")
    console.print(table)


def _load_config(
    config: Path | None, overrides: list[str], method: str | None, output_dir: Path | None
) -> RunConfig:
    from crucible.kernel.run_config import load_run_config

    extra = list(overrides)
    if method is not None:
        extra.append(f"method.name={method}")
    if output_dir is not None:
        extra.append(f"trainer.output_dir={output_dir}")
    return load_run_config(config, extra)


def train_command(
    config: Annotated[Path | None, typer.Option(help="Run config YAML.")] = None,
    method: Annotated[
        str | None, typer.Option(help="Method plugin (see crucible methods).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: section.key=value (repeatable)."),
    ] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Overrides trainer.output_dir.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint.")] = False,
    print_config: Annotated[
        bool, typer.Option(help="Print the full config (every default) and exit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Train a model with a method plugin against the sandbox, evaluating on the held-out split
    before and after. Metrics go to OUTPUT_DIR/metrics.jsonl and TensorBoard, curves to
    OUTPUT_DIR/training_curves.png, checkpoints to OUTPUT_DIR/checkpoints."""
    from crucible.kernel.config import dump_config
    from crucible.kernel.loop import Trainer
    from crucible.kernel.registry import load_method
    from crucible.kernel.run_config import method_settings

    run = _load_config(config, overrides or [], method, output_dir)
    if not run.method_name:
        fail(
            ExitCode.BAD_INPUT,
            "no method: pass --method NAME or set method.name in the config "
            "(crucible methods lists them)",
        )
    try:
        method_class = load_method(run.method_name)
    except (KeyError, TypeError) as exc:
        fail(ExitCode.BAD_INPUT, str(exc.args[0] if exc.args else exc))
    settings = method_settings(run, method_class.config_class, str(config or "<defaults>"))
    if print_config:
        typer.echo(dump_config(run, sections={"method": settings}))
        return
    from crucible.evaluation.evaluate import evaluate
    from crucible.evaluation.problems import to_problems
    from crucible.kernel.checkpoint import latest_checkpoint
    from crucible.kernel.distributed import Processes

    processes = Processes()
    console = Console(stderr=True, quiet=not processes.is_main)
    out = Path(run.trainer.output_dir)
    resuming = resume and latest_checkpoint(out) is not None
    split = load_tasks(run.data.dataset, run.data.train_split)
    train_tasks = split[: run.data.max_train_tasks or None]
    eval_tasks = load_tasks(run.data.dataset, run.data.eval_split, run.data.max_eval_tasks)
    model, tokenizer = load_policy(run.model)
    eval_settings = _eval_settings(run)
    # bars for the before and after evaluations; none for the held-out ones inside the
    # training bar
    shown = dataclasses.replace(eval_settings, progress=True)
    out.mkdir(parents=True, exist_ok=True)
    with open_sandbox(run.sandbox.addresses, run.sandbox.workers, run.sandbox.isolation) as sandbox:
        before: dict[str, Any] = {}
        if resuming:
            before = json.loads((out / BEFORE_FILE).read_text())
        else:
            warm_start(run, model, tokenizer, split, console)
            console.print("evaluating the starting model")
            if processes.is_main:
                before = evaluate(model, tokenizer, eval_tasks, sandbox, shown).summary()
                (out / BEFORE_FILE).write_text(json.dumps(before, indent=2))
            processes.wait()

        def held_out(step: int) -> dict[str, float]:
            result = evaluate(model, tokenizer, eval_tasks, sandbox, eval_settings)
            return {f"eval_{key}": value for key, value in result.pass_at_k.items()}

        trainer = Trainer(
            run,
            method_class,
            settings,
            to_problems(train_tasks),
            model,
            tokenizer,
            sandbox,
            evaluate=held_out,
        )
        initial = {f"eval_{key}": value for key, value in before.items() if key.startswith("pass@")}
        result = trainer.train(resume=resuming, initial_metrics=initial)
        if not processes.is_main:
            return
        console.print("evaluating the trained model")
        after = evaluate(model, tokenizer, eval_tasks, sandbox, shown).summary()
    summary = {
        "method": run.method_name,
        "steps": result.steps,
        "activity": result.activity,
        "before": before,
        "after": after,
        "output_dir": str(out),
        "plot": str(result.plot),
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _comparison(before, after, Console())
        Console().print(f"curves: {result.plot}\nmetrics: {out / 'metrics.jsonl'}")


def methods_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the installed method plugins (entry-point group crucible.methods)."""
    from crucible.kernel.registry import installed_methods

    rows: list[dict[str, Any]] = []
    for installed in installed_methods():
        try:
            plugin = installed.load()
            fields = sorted(plugin.config_class.model_fields)
            status = "ok"
        except Exception as exc:  # a broken third-party plugin must not hide the others
            fields, status = [], f"error: {exc}"
        rows.append(
            {
                "name": installed.name,
                "target": installed.target,
                "distribution": installed.distribution,
                "settings": fields,
                "status": status,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title="installed methods")
    for column in ("name", "target", "distribution", "settings", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["target"]),
            str(row["distribution"]),
            ", ".join(row["settings"]),
            str(row["status"]),
        )
    Console().print(table)
