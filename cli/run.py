"""``crucible run``: run one program once, without tests, and show what it did.

The request is an Execute without tests (the contract's run): the program reads ``--stdin``'s
file and its output comes back with its exit code, time, memory and, with ``--coverage``, its
lines, under the same limits, isolation and statuses as ``crucible check``. A separate command
rather than ``check`` without ``--tests``: forgetting the tests of a check must stay an error,
and a run's output is the program's, printed as it wrote it.

Without ``--json`` the program's stdout goes to stdout and its stderr to stderr, unchanged (so
``crucible run prog.py --stdin in.txt > out.txt`` keeps only what the program printed), then a
summary on stderr. Exit codes are ``check``'s: 0 when the run ended normally with exit code 0,
1 otherwise (the program's own exit code is in the summary and the JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from crucible.cli.check import (
    CoverageOption,
    JsonOption,
    LanguageOption,
    MemoryLimitOption,
    PreludeOption,
    PythonPackagesOption,
    ServerOption,
    TimeLimitOption,
    engine_config,
    execute_or_exit,
    exit_code,
    limits_from_flags,
    read_text,
)
from crucible.cli.common import EXIT_CODES_HELP, ExitCode, InsecureOption, IsolationOption, fail
from crucible.cli.render import STATUS_STYLE, error_panel, print_coverage
from crucible.sandbox_service.models import ExecuteRequest, ExecuteResponse
from crucible.sandbox_service.wire import describe_validation_error

_MIB = float(1 << 20)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the root command."""
    app.command("run", epilog=EXIT_CODES_HELP)(run)


def run(
    program: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The program to run (source file)."
        ),
    ],
    stdin: Annotated[
        Path | None,
        typer.Option(
            "--stdin",
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="FILE",
            help="A file the program reads as its standard input (default: empty input).",
        ),
    ] = None,
    language: LanguageOption = "python",
    time_limit: TimeLimitOption = None,
    memory_limit: MemoryLimitOption = None,
    coverage: CoverageOption = False,
    json_output: JsonOption = False,
    server: ServerOption = None,
    prelude: PreludeOption = None,
    insecure_no_sandbox: InsecureOption = False,
    isolation: IsolationOption = None,
    python_packages: PythonPackagesOption = None,
) -> None:
    """Run PROGRAM once, without tests, and print its output, exit code, time and memory.

    The limits, isolation and statuses are those of a test: a non-zero exit code is
    RUNTIME_ERROR (with the error's type and line where the language gives one).
    """
    engine = engine_config(server, isolation, insecure_no_sandbox, python_packages)
    try:
        request = ExecuteRequest(
            language=language,
            source=read_text(program),
            prelude=read_text(prelude) if prelude is not None else "",
            tests=[],
            stdin=read_text(stdin) if stdin is not None else "",
            limits=limits_from_flags(time_limit, memory_limit),
            collect_coverage=coverage,
        )
    except ValidationError as exc:
        fail(ExitCode.BAD_INPUT, describe_validation_error(exc))
    verdict = execute_or_exit(request, server, engine)
    if json_output:
        typer.echo(json.dumps(verdict.to_json_dict()))
    else:
        _print_run(verdict)
    raise typer.Exit(int(exit_code(verdict)))


def _print_run(verdict: ExecuteResponse) -> None:
    """The program's own output, unchanged, then the summary on stderr."""
    result = verdict.run
    assert result is not None, "a request without tests is answered with its run"
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    sys.stderr.write(result.stderr)
    console = Console(stderr=True)
    streams = (("stdout", result.stdout_truncated), ("stderr", result.stderr_truncated))
    cut = [name for name, truncated in streams if truncated]
    style = STATUS_STYLE[verdict.status]
    console.print(
        f"[{style}]{verdict.status.value}[/]  exit code {result.exit_code}  "
        f"cpu {result.cpu_time_ms:.0f} ms  wall {result.wall_time_ms:.0f} ms  "
        f"memory {result.peak_memory_bytes / _MIB:.1f} MiB"
        + (f"  ({escape(' and '.join(cut))} cut at the capture bound)" if cut else ""),
        highlight=False,
    )
    if verdict.error is not None:
        console.print(error_panel(verdict.error, verdict.status))
    print_coverage(console, verdict)
