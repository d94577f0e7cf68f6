"""Entry point of the ``crucible`` console script.

Command groups register themselves, one line each, so adding ``train`` or ``eval`` touches only
their own module and the list below. Plugins add command groups through the ``crucible.commands``
entry-point group (a name and a typer app: ``crucible NAME ...``), as methods are added; they
import nothing from this package, and raise the library's typed errors, which
:func:`~crucible.cli.common.report_library_errors` turns into exit codes here for every command
(docs/plugins.md, "Adding a command"). Keep
imports here light: ``crucible --help`` and the sandbox commands must not pay for (or need) the
training stack; heavy modules import inside commands.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from crucible.cli import bench, check, evaluate, evaluate_samples, run, sandbox, train
from crucible.cli.common import EXIT_CODES_HELP, report_library_errors

app = typer.Typer(
    name="crucible",
    help="Crucible: a hardened code-execution sandbox with structured verdicts, and a training "
    "kernel.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold programs and tests: too long, maybe secret
)


@app.callback()
def _root() -> None:
    """Crucible: a hardened code-execution sandbox with structured verdicts, and a training
    kernel."""


check.register(app)
run.register(app)
sandbox.register(app)
train.register(app)
evaluate.register(app)
evaluate_samples.register(app)
bench.register(app)

COMMANDS_GROUP = "crucible.commands"
for _entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda entry: entry.name):
    app.add_typer(_entry.load(), name=_entry.name)
report_library_errors(app)


def main() -> None:
    """Run the command line (the ``crucible`` console script)."""
    app()
