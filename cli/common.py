"""What every command shares: exit codes, failing with a message, the isolation flags, and the
translation of the library's typed errors into exit codes.

Exit codes are part of the interface (scripts and CI branch on them), so they are one enum,
documented in ``crucible --help``. Library code (the layers below) never exits: it raises typed
errors, and :func:`report_library_errors` maps them here, for the built-in commands and for
plugin commands alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import IntEnum
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from crucible.evaluation.compose import InputError, SandboxUnavailable
from crucible.kernel.config import ConfigError


class ExitCode(IntEnum):
    """Process exit codes of every ``crucible`` command."""

    OK = 0  # the program passed (check) / the command did its job
    NOT_PASSED = 1  # check: a verdict other than PASSED (and other than SANDBOX_ERROR)
    BAD_INPUT = 2  # bad usage or input, including a request the sandbox rejects
    UNAVAILABLE = 3  # server unreachable, sandbox unusable, or a SANDBOX_ERROR verdict


EXIT_CODES_HELP = (
    "Exit codes: 0 passed / done; 1 not passed; 2 bad usage or input (including a request the "
    "sandbox rejects); 3 server unreachable or the sandbox failed (SANDBOX_ERROR, no jail)."
)

Isolation = Literal["strict", "pooled", "none"]

IsolationOption = Annotated[
    Isolation | None,
    typer.Option(
        help="strict: a fresh nsjail per program; pooled: warm jailed workers that fork per "
        "test (faster); none: no isolation, only together with --insecure-no-sandbox "
        "(default strict).",
        show_default=False,
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure-no-sandbox",
        help="Run untrusted code WITHOUT any isolation (isolation none). Only for code you trust.",
    ),
]


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    # soft_wrap: no line breaks inserted, so paths and messages stay whole for copy and grep
    Console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(int(code))


def resolve_isolation(isolation: Isolation | None, insecure_no_sandbox: bool) -> Isolation:
    """The isolation the flags ask for. Running without a jail must be asked for twice, so a
    typo cannot turn the sandbox off: ``--isolation none`` needs ``--insecure-no-sandbox``."""
    if insecure_no_sandbox:
        if isolation not in (None, "none"):
            fail(
                ExitCode.BAD_INPUT,
                "--insecure-no-sandbox means isolation none; "
                f"it contradicts --isolation {isolation}",
            )
        Console(stderr=True).print(
            "[bold yellow]warning:[/] running untrusted code without isolation "
            "(--insecure-no-sandbox)",
            highlight=False,
            soft_wrap=True,
        )
        return "none"
    if isolation == "none":
        fail(
            ExitCode.BAD_INPUT,
            "--isolation none runs untrusted code without any isolation; "
            "add --insecure-no-sandbox to confirm",
        )
    return isolation or "strict"


#: The library's typed errors and the exit code each means on the command line.
LIBRARY_ERRORS: tuple[tuple[type[Exception], ExitCode], ...] = (
    (ConfigError, ExitCode.BAD_INPUT),
    (InputError, ExitCode.BAD_INPUT),
    (SandboxUnavailable, ExitCode.UNAVAILABLE),
)


def _reporting(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except tuple(error for error, _ in LIBRARY_ERRORS) as exc:
            code = next(code for error, code in LIBRARY_ERRORS if isinstance(exc, error))
            fail(code, str(exc))

    return run


def report_library_errors(app: typer.Typer) -> None:
    """Every command of ``app`` and of its groups reports the library's typed errors
    (:data:`LIBRARY_ERRORS`) as a message and exit code, and documents the exit codes in its
    help, so a command (a plugin's too) raises those errors instead of exiting itself."""
    for command in app.registered_commands:
        if command.callback is not None:
            command.callback = _reporting(command.callback)
        command.epilog = command.epilog or EXIT_CODES_HELP
    for group in app.registered_groups:
        if group.typer_instance is not None:
            report_library_errors(group.typer_instance)
