"""docs/cli.md, the reference of every ``crucible`` command, generated from the commands themselves.

``make cli-docs`` (``python -m crucible.cli.reference > docs/cli.md``) rewrites it; a test fails
when the file and the commands disagree, so the reference cannot go stale.
"""

from __future__ import annotations

import html

import typer
from typer.cli import get_docs_for_click

from crucible.cli.main import app


def reference() -> str:
    """The Markdown reference of ``crucible`` and all its subcommands (typer's own generator)."""
    command = typer.main.get_command(app)
    text = get_docs_for_click(obj=command, ctx=typer.Context(command), name="crucible")
    return html.unescape(text.strip()) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
