"""What every command shares: exit codes, failing with a message, the isolation flags.

Exit codes are part of the interface (scripts and CI branch on them), so they are one enum,
documented in ``crucible --help``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape


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
