"""``crucible check``: input validation and exit codes (no execution needed), how flags become the
request and how verdicts are shown (execution replaced by a canned verdict), and real runs on
the in-process engine and against an unreachable server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crucible.cli import check as cli_check
from crucible.cli.main import app
from crucible.cli.tests_file import InvalidTestsFile, load_tests
from crucible.sandbox_service.client import SandboxError
from crucible.sandbox_service.engine import EngineConfig, RequestRejected
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    CheckerKind,
    ErrorInfo,
    ExecuteRequest,
    ExecuteResponse,
    IsolationMode,
    Limits,
    OutputChecker,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
)

# Aliased so pytest does not try to collect the models as test classes.
from crucible.sandbox_service.models import TestCase as Case
from crucible.sandbox_service.models import TestResult as Result

pytestmark = pytest.mark.timeout(60)

SOLUTION = """\
def add(a, b):
    if a == 5:
        return 1 / 0
    return a + b
"""
TESTS = [
    {"kind": "assert", "code": "assert add(1, 2) == 3", "name": "small"},
    {"kind": "call", "function": "add", "args": [2, 3], "expected": 5},
    {"kind": "call", "function": "add", "args": [0.1, 0.2], "expected": 0.3, "checker": "float"},
]
FAILING_TEST = {"kind": "call", "function": "add", "args": [5, 1], "expected": 6, "name": "zero"}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    """``text`` without the boxes and line wrapping of click's rich usage errors."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def files(tmp_path: Path) -> Callable[..., tuple[str, str]]:
    """``files(tests, solution=SOLUTION)`` writes both; ``tests`` is a list of JSON values or
    raw lines. Returns the paths as strings."""

    def write(tests: list[Any], solution: str = SOLUTION) -> tuple[str, str]:
        source, lines = tmp_path / "solution.py", tmp_path / "tests.jsonl"
        source.write_text(solution)
        lines.write_text("".join(t if isinstance(t, str) else json.dumps(t) + "\n" for t in tests))
        return str(source), str(lines)

    return write


def canned(status: Status, **extra: Any) -> ExecuteResponse:
    passed = status is Status.PASSED
    return ExecuteResponse(
        status=status,
        pass_ratio=1.0 if passed else 0.0,
        passed_count=int(passed),
        test_count=1,
        tests=[Result(index=0, name="only", status=status, cpu_time_ms=1.25)],
        isolation=IsolationMode.STRICT,
        limits=ResolvedLimits(
            cpu_time_limit_ms=4000,
            wall_time_limit_ms=13000,
            memory_limit_bytes=512 << 20,
            output_limit_bytes=8 << 20,
        ),
        runtime="CPython 3.11.7",
        **extra,
    )


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> Callable[[object], list[tuple[Any, ...]]]:
    """Replace execution: ``executed(outcome)`` makes run_request return (or raise) ``outcome``
    and returns the list of (request, server, engine config) it was called with."""

    def install(outcome: object) -> list[tuple[Any, ...]]:
        calls: list[tuple[Any, ...]] = []

        def fake(
            request: ExecuteRequest, server: str | None, engine: EngineConfig
        ) -> ExecuteResponse:
            calls.append((request, server, engine))
            if isinstance(outcome, Exception):
                raise outcome
            assert isinstance(outcome, ExecuteResponse)
            return outcome

        monkeypatch.setattr(cli_check, "run_request", fake)
        return calls

    return install


# --- input validation: nothing runs ----------------------------------------------------------


def test_bad_json_line_names_file_and_line(files: Any) -> None:
    solution, tests = files([TESTS[0], '{"kind": "assert", "code": \n'])
    result = run("check", solution, "--tests", tests)
    assert result.exit_code == 2
    assert f"{tests}:2: not valid JSON" in result.stderr


def test_unknown_checker_names_the_line_and_field(files: Any) -> None:
    solution, tests = files([TESTS[0], TESTS[1], {**TESTS[1], "checker": "fuzzy"}])
    result = run("check", solution, "--tests", tests)
    assert result.exit_code == 2
    assert f"{tests}:3: checker.kind: Input should be 'exact', 'whitespace' or 'float'" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"kind": "shell", "code": "ls"}, "Input tag 'shell'"),
        ({"code": "assert True"}, '"kind" is missing'),
        ({"kind": "call", "function": "add", "args": [1]}, "expected: Field required"),
        ({"kind": "call", "function": "add", "args": 1, "expected": 1}, "args: Input should be"),
        ({"kind": "assert", "code": "assert 1", "colour": "red"}, "colour: Extra inputs"),
        ([1, 2], "expected a JSON object, got list"),
    ],
)
def test_bad_lines_are_rejected_with_the_problem(files: Any, line: Any, problem: str) -> None:
    solution, tests = files([line])
    result = run("check", solution, "--tests", tests)
    assert result.exit_code == 2
    assert f"{tests}:1: " in result.stderr and problem in result.stderr


def test_empty_tests_file_is_rejected(files: Any) -> None:
    solution, tests = files(["\n", "  \n"])
    result = run("check", solution, "--tests", tests)
    assert result.exit_code == 2 and "no tests" in result.stderr


@pytest.mark.parametrize("missing", ["solution", "tests"])
def test_missing_files_are_usage_errors(files: Any, tmp_path: Path, missing: str) -> None:
    solution, tests = files(TESTS)
    nowhere = str(tmp_path / "nowhere")
    args = (nowhere, "--tests", tests) if missing == "solution" else (solution, "--tests", nowhere)
    result = run("check", *args)
    assert result.exit_code == 2 and "does not exist" in flat(result.stderr)


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--isolation", "none"], "add --insecure-no-sandbox"),
        (["--insecure-no-sandbox", "--isolation", "pooled"], "contradicts --isolation pooled"),
        (["--server", "127.0.0.1:1", "--isolation", "pooled"], "a server (--server) uses its own"),
        (["--server", "127.0.0.1:1", "--python-packages", "."], "a server (--server) uses its own"),
        (["--python-packages", "/no/such/dir"], "/no/such/dir is not a directory"),
        # limit errors speak in the flag's unit, not the contract's milliseconds and bytes
        (["--time-limit", "-1"], "--time-limit must be greater than 0 seconds, got -1"),
        (["--time-limit", "601"], "--time-limit must be at most 600 seconds, got 601"),
        (["--memory-limit", "1"], "--memory-limit must be at least 16 MiB, got 1"),
    ],
)
def test_contradictory_or_out_of_range_flags(files: Any, flags: list[str], problem: str) -> None:
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests, *flags)
    assert result.exit_code == 2 and problem in result.stderr


def test_load_tests_builds_the_contracts_tests(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [
        TESTS[0],
        {**TESTS[1], "checker": {"kind": "float", "abs_tol": 0.5, "rel_tol": 0}},
        {"kind": "stdio", "stdin": "1 2\n", "expected_stdout": "3\n", "checker": "whitespace"},
        {"kind": "call", "function": "Solution.f", "expected": None},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    assert load_tests(path) == [
        Case(name="small", body=AssertTest(code="assert add(1, 2) == 3")),
        Case(
            body=CallTest(function_name="add", args_json="[2, 3]", expected_json="5"),
            checker=OutputChecker(
                kind=CheckerKind.FLOAT, float_absolute_tolerance=0.5, float_relative_tolerance=0
            ),
        ),
        Case(
            body=StdioTest(stdin="1 2\n", expected_stdout="3\n"),
            checker=OutputChecker(kind=CheckerKind.WHITESPACE),
        ),
        Case(body=CallTest(function_name="Solution.f", args_json="[]", expected_json="null")),
    ]


def test_load_tests_rejects_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidTestsFile, match="cannot read"):
        load_tests(path)


# --- flags -> request, verdict -> output and exit code (execution replaced) -------------------


def test_flags_become_the_request(files: Any, tmp_path: Path, executed: Any) -> None:
    calls = executed(canned(Status.PASSED))
    solution, tests = files(TESTS)
    prelude = tmp_path / "prelude.py"
    prelude.write_text("import math\n")
    result = run(
        *("check", solution, "--tests", tests, "--prelude", str(prelude)),
        *("--time-limit", "1.5", "--memory-limit", "256", "--coverage"),
        *("--stop-on-first-failure", "--tests-share-process", "--isolation", "pooled"),
    )
    assert result.exit_code == 0, result.output
    [(request, server, engine)] = calls
    assert (server, engine.isolation) == (None, "pooled")
    assert request.source == SOLUTION and request.prelude == "import math\n"
    assert request.limits == Limits(cpu_time_limit_ms=1500.0, memory_limit_bytes=256 << 20)
    assert request.collect_coverage and request.stop_on_first_failure
    assert request.tests_share_process
    assert request.tests == load_tests(Path(tests))


def test_insecure_flag_runs_without_isolation_and_warns(files: Any, executed: Any) -> None:
    calls = executed(canned(Status.PASSED))
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests, "--insecure-no-sandbox")
    assert result.exit_code == 0
    assert calls[0][2].isolation == "none" and "without isolation" in result.stderr


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Status.PASSED, 0),
        (Status.WRONG_ANSWER, 1),
        (Status.RUNTIME_ERROR, 1),
        (Status.TIME_LIMIT_EXCEEDED, 1),
        (Status.SANDBOX_ERROR, 3),
    ],
)
def test_exit_code_follows_the_verdict(
    files: Any, executed: Any, status: Status, code: int
) -> None:
    executed(canned(status))
    solution, tests = files(TESTS)
    assert run("check", solution, "--tests", tests).exit_code == code


def test_json_prints_the_verdict_as_one_object(files: Any, executed: Any) -> None:
    verdict = canned(Status.WRONG_ANSWER)
    executed(verdict)
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == verdict.to_json_dict()


def test_summary_shows_status_tests_error_and_coverage(files: Any, executed: Any) -> None:
    error = ErrorInfo(
        type="ZeroDivisionError",
        message="division by zero",
        line=3,
        traceback='Traceback (most recent call last):\n  File "solution.py", line 3, in add',
        subtype=Subtype.LINE,
        test_index=0,
    )
    executed(
        canned(
            Status.RUNTIME_ERROR,
            error=error,
            executed_lines=[1, 2, 3, 7],
            executable_lines=[1, 2, 3, 4, 5, 7, 9],
            coverage_collected=True,
        )
    )
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests)
    assert result.exit_code == 1
    for shown in ("RUNTIME_ERROR", "0/1 tests passed", "only", "1.2", "ZeroDivisionError"):
        assert shown in result.stdout
    assert "subtype LINE, line 3, test 0" in result.stdout
    assert 'File "solution.py", line 3' in result.stdout
    assert "executed lines: 1-3, 7" in result.stdout
    assert "lines not run: 4-5, 9" in result.stdout


@pytest.mark.parametrize(
    ("failure", "code", "shown"),
    [
        (RequestRejected("language 'cobol' is not supported"), 2, "'cobol' is not supported"),
        (SandboxError("INVALID_ARGUMENT", "tests[0]: bad"), 2, "INVALID_ARGUMENT: tests[0]: bad"),
        (SandboxError("UNAVAILABLE", "connection refused"), 3, "UNAVAILABLE: connection refused"),
        (SandboxError("RESOURCE_EXHAUSTED", "queue full"), 3, "RESOURCE_EXHAUSTED: queue full"),
    ],
)
def test_failures_to_execute_map_to_exit_codes(
    files: Any, executed: Any, failure: Exception, code: int, shown: str
) -> None:
    executed(failure)
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests)
    assert result.exit_code == code and shown in result.stderr


# --- real execution -------------------------------------------------------------------------


def test_passing_solution_passes_in_the_strict_jail(files: Any) -> None:
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests, "--json")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "PASSED" and verdict["isolation"] == "STRICT"
    assert verdict["passed_count"] == 3


def test_failing_solution_reports_the_line_in_a_pooled_worker(files: Any) -> None:
    solution, tests = files([*TESTS, FAILING_TEST])
    result = run("check", solution, "--tests", tests, "--isolation", "pooled", "--coverage")
    assert result.exit_code == 1, result.output
    assert "RUNTIME_ERROR" in result.stdout and "3/4 tests passed" in result.stdout
    assert "ZeroDivisionError" in result.stdout and "line 3" in result.stdout
    assert "executed lines: 1-4" in result.stdout
    assert "lines not run: -" in result.stdout


def test_the_program_imports_from_the_packages_directory(files: Any, tmp_path: Path) -> None:
    packages = tmp_path / "packages"
    (packages / "adder").mkdir(parents=True)
    (packages / "adder" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    for path in (packages, packages / "adder"):
        path.chmod(0o755)
    solution, tests = files(TESTS, solution="from adder import add\n")
    without = run("check", solution, "--tests", tests)
    with_packages = run("check", solution, "--tests", tests, "--python-packages", str(packages))
    assert without.exit_code == 1 and "ModuleNotFoundError" in without.stdout
    assert with_packages.exit_code == 0, with_packages.output


def test_language_the_engine_does_not_run_is_bad_input(files: Any) -> None:
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests, "--language", "cobol")
    assert result.exit_code == 2 and "'cobol' is not supported" in result.stderr


def test_unreachable_server_exits_3(files: Any) -> None:
    solution, tests = files(TESTS)
    result = run("check", solution, "--tests", tests, "--server", "127.0.0.1:1")
    assert result.exit_code == 3 and "UNAVAILABLE" in result.stderr
