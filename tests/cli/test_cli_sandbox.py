"""``crucible sandbox serve`` and ``crucible sandbox languages``, and --help everywhere.

``serve`` runs as a real process (it owns signal handlers and logging), bound to 127.0.0.1 on a
free port; ``check --server`` and ``languages --server`` are then run against it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crucible.cli.main import app

pytestmark = pytest.mark.timeout(60)

CRUCIBLE = [sys.executable, "-c", "from crucible.cli.main import main; main()"]


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def start_serving(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CRUCIBLE, "sandbox", "serve", "--address", "127.0.0.1:0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A ``crucible sandbox serve`` process and the address it printed."""
    with start_serving("--workers", "2", "--grace-period", "5") as process:  # closes the pipes
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("listening on "), process.stderr.read() if process.stderr else ""
            yield process, line.removeprefix("listening on ").strip()
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize(
    "command",
    [[], ["check"], ["sandbox"], ["sandbox", "serve"], ["sandbox", "languages"]],
)
def test_help_works_everywhere(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage: crucible" in result.output
    assert "Exit codes" in result.output


def test_languages_in_process() -> None:
    table = run("sandbox", "languages")
    assert table.exit_code == 0 and "python" in table.stdout and ".py" in table.stdout
    listing = run("sandbox", "languages", "--json")
    listed = {language["name"]: language for language in json.loads(listing.stdout)}
    assert listed["python"]["capabilities"]["call_tests"] is True


def test_languages_of_an_unreachable_server_exits_3() -> None:
    result = run("sandbox", "languages", "--server", "127.0.0.1:1", "--timeout", "2")
    assert result.exit_code == 3 and "UNAVAILABLE" in result.stderr


def test_serve_refuses_isolation_none_without_the_insecure_flag() -> None:
    result = run("sandbox", "serve", "--isolation", "none")
    assert result.exit_code == 2 and "add --insecure-no-sandbox" in result.stderr


def test_serve_rejects_bad_engine_settings() -> None:
    result = run("sandbox", "serve", "--workers", "0")
    assert result.exit_code == 2 and "workers" in result.stderr


def test_serve_on_a_busy_port_exits_3() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        process = subprocess.run(
            [*CRUCIBLE, "sandbox", "serve", "--address", address, "--insecure-no-sandbox"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert process.returncode == 3, process.stderr
    assert f"cannot serve on {address}" in process.stderr


def test_server_answers_check_and_languages_then_stops_on_sigterm(
    server: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    process, address = server
    solution, tests = tmp_path / "s.py", tmp_path / "t.jsonl"
    solution.write_text("def add(a, b):\n    return a + b\n")
    tests.write_text(json.dumps({"kind": "call", "function": "add", "args": [1, 2], "expected": 3}))

    checked = run("check", str(solution), "--tests", str(tests), "--server", address, "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["status"] == "PASSED"

    listed = run("sandbox", "languages", "--server", address, "--json")
    assert listed.exit_code == 0
    assert "python" in {language["name"] for language in json.loads(listed.stdout)}

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert process.stderr is not None
    logs = [json.loads(line) for line in process.stderr.read().splitlines() if line.strip()]
    requests = [entry for entry in logs if entry.get("event") == "request"]
    assert [(entry["method"], entry["code"], entry["status"]) for entry in requests] == [
        ("Execute", "OK", "PASSED")
    ]
    assert logs[-1]["message"] == "stopped"


def test_serve_at_log_level_warning_writes_no_line_per_request(tmp_path: Path) -> None:
    solution, tests = tmp_path / "s.py", tmp_path / "t.jsonl"
    solution.write_text("def add(a, b):\n    return a - b\n")
    tests.write_text(json.dumps({"kind": "call", "function": "add", "args": [1, 2], "expected": 3}))
    with start_serving("--workers", "1", "--log-level", "warning") as process:
        assert process.stdout is not None and process.stderr is not None
        address = process.stdout.readline().removeprefix("listening on ").strip()
        checked = run("check", str(solution), "--tests", str(tests), "--server", address, "--json")
        assert json.loads(checked.stdout)["status"] == "WRONG_ANSWER"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stderr.read() == ""


def test_serve_refuses_an_unknown_log_level() -> None:
    result = run("sandbox", "serve", "--log-level", "verbose")
    assert result.exit_code == 2 and "'verbose' is not one of" in result.stderr
