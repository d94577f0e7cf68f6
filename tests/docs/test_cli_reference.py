"""docs/cli.md is what the commands say about themselves (regenerate with ``make cli-docs``)."""

from __future__ import annotations

from pathlib import Path

from crucible.cli.reference import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_matches_the_commands() -> None:
    assert DOC.read_text() == reference(), "docs/cli.md is stale: run `make cli-docs`"


def test_cli_reference_covers_every_command_group() -> None:
    text = reference()
    for command in (
        "check",
        "train",
        "methods",
        "eval",
        "evaluate",
        "sandbox serve",
        "bench learning",
        "bench efficiency",
    ):
        assert f"## `crucible {command}`" in text
