"""The extension point for plugin commands: a plugin publishes a typer app under the
``crucible.commands`` entry-point group and raises the library's typed errors; the command line
reports them with its exit codes and documents the codes in the command's help."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from crucible.cli.common import EXIT_CODES_HELP, report_library_errors
from crucible.cli.main import COMMANDS_GROUP, app
from crucible.evaluation.compose import SandboxUnavailable, load_tasks
from crucible.kernel.config import ConfigError


def _plugin_app() -> typer.Typer:
    """A plugin's command group as a third party writes it: no import from crucible.cli."""
    plugin = typer.Typer(name="example")

    @plugin.command("load")
    def load(dataset: str) -> None:
        load_tasks(dataset, None)

    @plugin.command("jail")
    def jail() -> None:
        raise SandboxUnavailable("nsjail is not installed")

    @plugin.command("config")
    def config() -> None:
        raise ConfigError("run.yaml", ["trainer.lrr: unknown key"])

    @plugin.command("crash")
    def crash() -> None:
        raise RuntimeError("a bug, not an input problem")

    return plugin


@pytest.fixture
def root() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Root."""

    root.add_typer(_plugin_app(), name="example")
    report_library_errors(root)
    return root


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["load", "no-such-dataset"], 2, "dataset 'no-such-dataset'"),
        (["jail"], 3, "nsjail is not installed"),
        (["config"], 2, "trainer.lrr: unknown key"),
    ],
)
def test_a_plugin_commands_typed_errors_become_exit_codes(
    root: typer.Typer, args: list[str], code: int, message: str
) -> None:
    result = CliRunner().invoke(root, ["example", *args])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr


def test_other_exceptions_are_not_dressed_up_as_input_errors(root: typer.Typer) -> None:
    result = CliRunner().invoke(root, ["example", "crash"])
    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code == 1


def test_plugin_commands_document_the_exit_codes(root: typer.Typer) -> None:
    result = CliRunner().invoke(root, ["example", "jail", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert " ".join(EXIT_CODES_HELP.split()) in " ".join(result.output.split())


def test_the_installed_codedpo_command_comes_through_the_entry_point_group() -> None:
    """(That it imports nothing of crucible.cli is tests/architecture/test_layers.py's job.)"""
    groups = {group.name: group for group in app.registered_groups}
    assert COMMANDS_GROUP == "crucible.commands" and "codedpo" in groups
    result = CliRunner().invoke(app, ["codedpo", "build-pairs", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert "Exit codes:" in result.output
