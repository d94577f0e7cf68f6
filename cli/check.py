"""``crucible check``: run one program against a file of tests and show the verdict.

Without ``--server`` the engine runs in this process (one request, then it is closed), with the
same isolation as the server; with ``--server`` the request goes over gRPC. Either way the verdict
is the same typed model, so the rendering and exit codes do not depend on where it ran. The
options and helpers that ``crucible run`` shares are defined here once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from rich.console import Console

from crucible.cli.common import (
    EXIT_CODES_HELP,
    ExitCode,
    InsecureOption,
    Isolation,
    IsolationOption,
    fail,
    resolve_isolation,
)
from crucible.cli.render import print_verdict
from crucible.cli.tests_file import InvalidTestsFile, load_tests
from crucible.sandbox_service.client import SandboxClient, SandboxError
from crucible.sandbox_service.engine import Engine, EngineConfig, RequestRejected
from crucible.sandbox_service.engine.jail import JailUnavailable
from crucible.sandbox_service.models import (
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    ResolvedLimits,
    Status,
    TestCase,
)
from crucible.sandbox_service.wire import describe_validation_error

_MIB = 1 << 20

# The in-process engine's defaults, quoted in --help (a server may have others).
_DEFAULTS: ResolvedLimits = EngineConfig.model_fields["default_limits"].default
# Each limit's flag, the flag's unit, and the unit's size in the contract's unit.
_LIMIT_FLAGS = {
    "cpu_time_limit_ms": ("--time-limit", "seconds", 1000),
    "memory_limit_bytes": ("--memory-limit", "MiB", _MIB),
}

LanguageOption = Annotated[
    str, typer.Option(help="Language, as `crucible sandbox languages` lists them.")
]
TimeLimitOption = Annotated[
    float | None,
    typer.Option(
        metavar="S",
        help="CPU time limit of each test, in seconds "
        f"(default {_DEFAULTS.cpu_time_limit_ms / 1000:g}, or the server's).",
    ),
]
MemoryLimitOption = Annotated[
    int | None,
    typer.Option(
        metavar="MB",
        help="Memory limit of each test, in MiB "
        f"(default {_DEFAULTS.memory_limit_bytes // _MIB}, or the server's).",
    ),
]
CoverageOption = Annotated[
    bool,
    typer.Option(
        "--coverage", help="Report the program's executed lines (and those that did not run)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the verdict as one JSON object.")]
ServerOption = Annotated[
    str | None,
    typer.Option(metavar="ADDRESS", help="Run on this sandbox server instead of in-process."),
]
PreludeOption = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="FILE",
        help="Code placed before the program (imports, a prompt); reported line numbers "
        "stay the program's own.",
    ),
]
PythonPackagesOption = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="A directory of Python packages the program may import, e.g. made with: pip "
        "install --target DIR numpy (default: the standard library only).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``check`` to the root command."""
    app.command("check", epilog=EXIT_CODES_HELP)(check)


def check(
    solution: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The program to check (source file)."
        ),
    ],
    tests: Annotated[
        Path,
        typer.Option(
            "--tests",
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="TESTS.jsonl",
            help="The tests, one JSON object per line (formats above).",
        ),
    ],
    language: LanguageOption = "python",
    time_limit: TimeLimitOption = None,
    memory_limit: MemoryLimitOption = None,
    coverage: CoverageOption = False,
    json_output: JsonOption = False,
    server: ServerOption = None,
    prelude: PreludeOption = None,
    stop_on_first_failure: Annotated[
        bool,
        typer.Option(
            "--stop-on-first-failure", help="Skip the remaining tests after the first failure."
        ),
    ] = False,
    tests_share_process: Annotated[
        bool,
        typer.Option(
            "--tests-share-process",
            help="Run the tests one after another in one process, as HumanEval's harness does "
            "(Python only): cheaper than a process per test, but what a test changes (globals, "
            "modules, files in /tmp) is seen by the tests after it.",
        ),
    ] = False,
    insecure_no_sandbox: InsecureOption = False,
    isolation: IsolationOption = None,
    python_packages: PythonPackagesOption = None,
) -> None:
    """Run SOLUTION against the tests in TESTS.jsonl and print the verdict.

    One test per line, each with an optional "name":

    {"kind": "assert", "code": "assert f(1) == 2"}

    {"kind": "call", "function": "f", "args": [1], "expected": 2}

    {"kind": "stdio", "stdin": "1\\n", "expected_stdout": "2\\n"}

    Call and stdio tests may set "checker": "exact", "whitespace" or "float",
    or {"kind": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}.
    """
    engine = engine_config(server, isolation, insecure_no_sandbox, python_packages)
    try:
        test_cases = load_tests(tests)
    except InvalidTestsFile as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    request = build_request(
        source=read_text(solution),
        prelude=read_text(prelude) if prelude is not None else "",
        tests=test_cases,
        language=language,
        limits=limits_from_flags(time_limit, memory_limit),
        collect_coverage=coverage,
        stop_on_first_failure=stop_on_first_failure,
        tests_share_process=tests_share_process,
    )
    verdict = execute_or_exit(request, server, engine)
    if json_output:
        typer.echo(json.dumps(verdict.to_json_dict()))
    else:
        print_verdict(Console(), verdict)
    raise typer.Exit(int(exit_code(verdict)))


def engine_config(
    server: str | None,
    isolation: Isolation | None,
    insecure_no_sandbox: bool,
    python_packages: Path | None,
) -> EngineConfig:
    """The in-process engine the flags ask for; BAD_INPUT when they contradict ``--server``."""
    if server is not None and (
        isolation is not None or insecure_no_sandbox or python_packages is not None
    ):
        fail(
            ExitCode.BAD_INPUT,
            "--isolation, --insecure-no-sandbox and --python-packages configure the in-process "
            "engine; a server (--server) uses its own isolation and packages",
        )
    # with --server the isolation is the server's; "strict" is then only a placeholder
    mode = "strict" if server is not None else resolve_isolation(isolation, insecure_no_sandbox)
    try:
        return EngineConfig(workers=1, isolation=mode, python_packages=python_packages)
    except ValidationError as exc:
        fail(ExitCode.BAD_INPUT, describe_validation_error(exc))


def build_request(
    *,
    source: str,
    prelude: str,
    tests: list[TestCase],
    language: str,
    limits: Limits,
    collect_coverage: bool,
    stop_on_first_failure: bool,
    tests_share_process: bool,
) -> ExecuteRequest:
    """The request ``check`` sends; exit with BAD_INPUT if the models reject it."""
    try:
        return ExecuteRequest(
            language=language,
            source=source,
            prelude=prelude,
            tests=tests,
            limits=limits,
            collect_coverage=collect_coverage,
            stop_on_first_failure=stop_on_first_failure,
            tests_share_process=tests_share_process,
        )
    except ValidationError as exc:
        fail(ExitCode.BAD_INPUT, describe_validation_error(exc))


def run_request(
    request: ExecuteRequest, server: str | None, engine: EngineConfig
) -> ExecuteResponse:
    """The verdict on ``request``, from ``server`` or from an ``engine`` in this process."""
    if server is not None:
        with SandboxClient(server) as client:
            return client.execute(request)
    return asyncio.run(_run_in_process(request, engine))


def exit_code(verdict: ExecuteResponse) -> ExitCode:
    """0 for PASSED, 3 when the sandbox (not the program) failed, 1 otherwise."""
    if verdict.status is Status.PASSED:
        return ExitCode.OK
    if verdict.status is Status.SANDBOX_ERROR:
        return ExitCode.UNAVAILABLE
    return ExitCode.NOT_PASSED


async def _run_in_process(request: ExecuteRequest, config: EngineConfig) -> ExecuteResponse:
    engine = Engine(config)
    try:
        return await engine.execute(request)
    finally:
        await engine.close()


def execute_or_exit(
    request: ExecuteRequest, server: str | None, engine: EngineConfig
) -> ExecuteResponse:
    """:func:`run_request`, with its failures turned into exit codes."""
    try:
        return run_request(request, server, engine)
    except RequestRejected as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    except SandboxError as exc:
        rejected = exc.code == "INVALID_ARGUMENT"
        fail(ExitCode.BAD_INPUT if rejected else ExitCode.UNAVAILABLE, f"server {server}: {exc}")
    except JailUnavailable as exc:
        fail(
            ExitCode.UNAVAILABLE,
            f"cannot isolate programs here: {exc} (see docs/security.md; "
            "--insecure-no-sandbox runs without isolation)",
        )


def limits_from_flags(time_limit_s: float | None, memory_limit_mib: int | None) -> Limits:
    """The limits of ``--time-limit S`` and ``--memory-limit MB``; BAD_INPUT naming the flag
    and the bound it broke in the flag's own unit (not the contract's milliseconds and bytes)."""
    given = {"cpu_time_limit_ms": time_limit_s, "memory_limit_bytes": memory_limit_mib}
    try:
        return Limits(
            cpu_time_limit_ms=None if time_limit_s is None else time_limit_s * 1000,
            memory_limit_bytes=None if memory_limit_mib is None else memory_limit_mib * _MIB,
        )
    except ValidationError as exc:
        fail(ExitCode.BAD_INPUT, "; ".join(_limit_problem(d, given) for d in exc.errors()))


def _limit_problem(detail: ErrorDetails, given: dict[str, float | int | None]) -> str:
    """``--time-limit must be greater than 0 seconds, got -1``, from the model's bound."""
    field = str(detail["loc"][0])
    flag, unit, scale = _LIMIT_FLAGS[field]
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    for name, bound in detail.get("ctx", {}).items():
        if name in words:
            return f"{flag} must be {words[name]} {bound / scale:g} {unit}, got {given[field]:g}"
    return f"{flag} ({unit}): {detail['msg']}, got {given[field]:g}"


def read_text(path: Path) -> str:
    """A UTF-8 file's text; BAD_INPUT naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(ExitCode.BAD_INPUT, f"{path}: cannot read: {exc}")
