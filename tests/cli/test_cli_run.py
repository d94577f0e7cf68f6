"""``crucible run``: a program run once without tests, on the real in-process engine (strict
nsjail): its output unchanged on stdout and stderr, the summary, the JSON verdict, exit codes,
and input errors that name the flag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crucible.cli.main import app

pytestmark = pytest.mark.timeout(120)

ECHO = (
    "import sys\n"
    "text = sys.stdin.read()\n"
    "print(text.upper(), end='')\n"
    "print('note', file=sys.stderr)\n"
    "if text.startswith('fail'):\n"
    "    raise ValueError(text.strip())\n"
)


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args])


@pytest.fixture
def program(tmp_path: Path) -> str:
    path = tmp_path / "echo.py"
    path.write_text(ECHO)
    return str(path)


def stdin_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "input.txt"
    path.write_text(text)
    return str(path)


def test_the_programs_output_is_printed_as_it_wrote_it(program: str, tmp_path: Path) -> None:
    result = run(program, "--stdin", stdin_file(tmp_path, "hello\n"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "HELLO\n"
    assert result.stderr.startswith("note\n")
    assert "PASSED  exit code 0" in result.stderr


def test_a_failing_run_shows_the_error_and_exits_1(program: str, tmp_path: Path) -> None:
    result = run(program, "--stdin", stdin_file(tmp_path, "fail now\n"), "--coverage")
    assert result.exit_code == 1
    assert result.stdout == "FAIL NOW\n"
    assert "RUNTIME_ERROR  exit code 1" in result.stderr
    assert "ValueError" in result.stderr and "line 6" in result.stderr
    assert "executed lines: 1-6" in result.stderr and "lines not run: -" in result.stderr


def test_json_is_the_verdict_with_its_run(program: str, tmp_path: Path) -> None:
    result = run(program, "--stdin", stdin_file(tmp_path, "abc"), "--json")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "PASSED" and verdict["tests"] == []
    assert verdict["run"]["stdout"] == "ABC" and verdict["run"]["exit_code"] == 0


def test_without_stdin_the_input_is_empty(program: str) -> None:
    result = run(program, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"]["stdout"] == ""


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--time-limit", "-1"], "--time-limit must be greater than 0 seconds, got -1"),
        (["--memory-limit", "8"], "--memory-limit must be at least 16 MiB, got 8"),
        (["--language", "cobol"], "cobol"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(program: str, flags: list[str], problem: str) -> None:
    result = run(program, *flags)
    assert result.exit_code == 2 and problem in result.stderr


def test_a_missing_stdin_file_is_named(program: str) -> None:
    result = run(program, "--stdin", "/no/such/input")
    assert result.exit_code == 2 and "/no/such/input" in " ".join(result.stderr.split())
