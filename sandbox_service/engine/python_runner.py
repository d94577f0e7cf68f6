"""Python on the trusted side: build the harness job, interpret its records into test results.

Line numbers: the harness runs ``prelude + source`` as one file; every line reported to the caller
is shifted back by the prelude's line count, so it indexes the candidate's own ``source``.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import py_compile
import re
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from crucible.sandbox_service.engine import checkers
from crucible.sandbox_service.engine.jail import TMPFS_BYTES
from crucible.sandbox_service.engine.limits import limit_exceeded
from crucible.sandbox_service.engine.python_errors import (
    compile_error_subtype,
    runtime_error_subtype,
)
from crucible.sandbox_service.engine.strict_tests import UnrewritableTest, strict_test_code
from crucible.sandbox_service.models import (
    CallTest,
    Capabilities,
    ErrorInfo,
    ExecuteRequest,
    Language,
    ProgramRun,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
    TestCase,
    TestResult,
)

HARNESS_DIR = Path(__file__).with_name("runtime")
JAIL_HARNESS_DIR = "/opt/crucible/harness"
JAIL_SITE_DIR = "/opt/crucible/site"
JAIL_PACKAGES_DIR = "/opt/crucible/packages"
# One thread per numerical library in a jail: a test is one CPU's work, and each thread is a
# pid of the jail's few.
SINGLE_THREADED_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
JAIL_WORKDIR = "/tmp"
SOLUTION_NAME = "solution.py"
# Captured output returned per test (the whole stdout is still compared for stdio tests).
CAPTURE_BYTES = 64 << 10
# How CPython's compiler messages quote a line ("... after function definition on line 4").
_ON_LINE = re.compile(r"\bon line (\d+)\b")


class InvalidTest(ValueError):
    """A test the harness cannot run (e.g. assert code that does not parse)."""


@dataclass(frozen=True)
class PythonRuntime:
    """Where the interpreter, the harness and slipcover (line probes) live, inside and outside a
    jail."""

    interpreter: str
    prefix: str
    slipcover_dir: str
    harness_dir: str
    version: str

    def harness(self, name: str, *, jailed: bool) -> str:
        """The path of in-jail harness ``name`` (``python_harness``, ``native_harness``) as
        bytecode, inside a jail or outside."""
        return f"{JAIL_HARNESS_DIR if jailed else self.harness_dir}/{name}.pyc"

    def command(
        self,
        *,
        jailed: bool,
        serve: bool,
        packages: Path | None = None,
        preload_line_probes: bool = True,
    ) -> list[str]:
        """The harness's command line; ``packages``: a directory programs may import from. A
        serving harness (a pooled worker) loads slipcover at start unless
        ``preload_line_probes`` is off (python_harness.main says why); a one-job harness, or a
        serving one without the preload, loads it for the first job that asks for coverage."""
        site = JAIL_SITE_DIR if jailed else str(Path(self.slipcover_dir).parent)
        argv = [self.interpreter, "-I", "-S", "-B", self.harness("python_harness", jailed=jailed)]
        argv += ["--site", site]
        if packages is not None:
            argv += ["--packages", JAIL_PACKAGES_DIR if jailed else str(packages)]
        if serve:
            argv += ["--serve", "--line-probes"] if preload_line_probes else ["--serve"]
        return argv

    def jail_binds(self, packages: Path | None = None) -> list[tuple[str, str]]:
        binds = [(path, path) for path in ("/usr", "/lib", "/lib64", "/bin") if Path(path).exists()]
        if not self.prefix.startswith("/usr/"):
            binds.append((self.prefix, self.prefix))
        binds += [
            (self.harness_dir, JAIL_HARNESS_DIR),
            (self.slipcover_dir, f"{JAIL_SITE_DIR}/slipcover"),
            ("/dev/null", "/dev/null"),
            ("/dev/urandom", "/dev/urandom"),
        ]
        if packages is not None:
            binds.append((str(packages), JAIL_PACKAGES_DIR))
        return binds


@cache
def python_runtime() -> PythonRuntime:
    """The interpreter that runs candidates: the base interpreter of this one, so that its
    ``sys.path`` holds the standard library only (slipcover is bound separately; the prefix's
    site-packages is readable in the jail but not importable unless a program adds it)."""
    spec = importlib.util.find_spec("slipcover")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("slipcover is not installed; run `make setup`")
    version = ".".join(str(part) for part in sys.version_info[:3])
    interpreter = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    return PythonRuntime(
        interpreter=str(interpreter.resolve()),
        prefix=sys.base_prefix,
        slipcover_dir=str(Path(next(iter(spec.submodule_search_locations))).resolve()),
        harness_dir=_compiled_harnesses(),
        version=f"CPython {version}",
    )


def _compiled_harnesses() -> str:
    """The in-jail harnesses, sources and bytecode, in a private directory made once per process
    and removed at exit.

    Why bytecode: a jail that runs the harness from source first compiles its 1,100 lines (13 ms
    of every strict execution here), and the compiler's leftovers stay in the harness's heap:
    2.7 MB more anonymous memory, which every pooled fork copies and every test's exit frees.
    The sources sit beside the bytecode, so the jail shows the same files as before.
    """
    directory = Path(tempfile.mkdtemp(prefix="crucible-harness-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for source in HARNESS_DIR.glob("*.py"):
        copy = directory / source.name
        shutil.copyfile(source, copy)
        cfile, dfile = copy.with_suffix(".pyc"), f"{JAIL_HARNESS_DIR}/{source.name}"
        py_compile.compile(str(copy), cfile=str(cfile), dfile=dfile, doraise=True)
    for path in directory.iterdir():
        path.chmod(0o644)
    directory.chmod(0o755)  # the jail's user reads it through the bind
    return str(directory)


def python_language() -> Language:
    return Language(
        name="python",
        runtime=python_runtime().version,
        file_suffix=".py",
        capabilities=Capabilities(
            assert_tests=True,
            call_tests=True,
            stdio_tests=True,
            error_type=True,
            error_line=True,
            error_subtype=True,
            executed_lines=True,
            peak_memory=True,
            compile_step=True,
            executable_lines=True,
        ),
    )


def full_source(request: ExecuteRequest) -> tuple[str, int]:
    """The file the harness runs, and how many of its lines belong to the prelude."""
    prelude = request.prelude
    if prelude and not prelude.endswith("\n"):
        prelude += "\n"
    return prelude + request.source, prelude.count("\n")


def _job_test(index: int, test: TestCase) -> dict[str, Any]:
    body = test.body
    if isinstance(body, CallTest):
        return {"kind": "call", "function": body.function_name, "args_json": body.args_json}
    if isinstance(body, StdioTest):
        return {"kind": "stdio", "stdin": body.stdin}
    try:
        compiled = strict_test_code(body.code, index)
    except (SyntaxError, ValueError) as exc:
        if isinstance(exc, UnrewritableTest):
            reason = f"compiles but not with strict comparisons: {exc}"
        elif isinstance(exc, SyntaxError):
            reason = f"does not compile: {exc.msg} (line {exc.lineno})"
        else:
            reason = f"does not compile: {exc}"
        raise InvalidTest(f"tests[{index}].assert_test.code {reason}") from None
    return {"kind": "assert", "code": body.code, "compiled": compiled}


def build_job(
    request: ExecuteRequest, limits: ResolvedLimits, *, workdir: str, ask_continue: bool
) -> dict[str, Any]:
    """The job sent to the harness (as harness_process.marshal_frame: assert tests carry their
    code objects). Expected values are not in it: they stay on this side."""
    source, _ = full_source(request)
    return {
        "workdir": workdir,
        "source": source,
        "tests": [_job_test(index, test) for index, test in enumerate(request.tests)],
        "cpu_ms": limits.cpu_time_limit_ms,
        "wall_ms": limits.wall_time_limit_ms,
        "output_limit": limits.output_limit_bytes,
        "file_limit": TMPFS_BYTES,
        "coverage": request.collect_coverage,
        "ask_continue": ask_continue,
        "shared": request.tests_share_process,
    }


def jail_wall_seconds(request: ExecuteRequest, limits: ResolvedLimits) -> int:
    """Wall-clock limit of a whole strict-mode jail: every test's backstop plus start-up."""
    return math.ceil(len(request.tests) * limits.wall_time_limit_ms / 1000.0) + 10


@dataclass(frozen=True)
class SourceMap:
    """Maps harness file coordinates back to the candidate's source."""

    path: str
    prelude_lines: int
    source_lines: int

    def to_candidate(self, filename: str, line: int) -> int:
        if filename != self.path or line <= self.prelude_lines:
            return 0
        return line - self.prelude_lines

    def traceback(self, frames: list[list[Any]]) -> str:
        out = ["Traceback (most recent call last):"]
        for filename, line, name, text in frames:
            if filename == self.path:
                shown = self.to_candidate(filename, line)
                where = f'File "{SOLUTION_NAME}", line {shown}' if shown else "File <prelude>"
            else:
                where = f'File "{filename}", line {line}'
            out.append(f"  {where}, in {name}")
            if text:
                out.append(f"    {text}")
        return "\n".join(out)

    def message(self, text: str) -> str:
        """A compiler message with the lines it quotes ("expected an indented block after
        'if' statement on line 7") in the candidate's coordinates, like ``error.line``; a line
        of the prelude is named as one."""

        def shift(found: re.Match[str]) -> str:
            line = int(found[1])
            mapped = self.to_candidate(self.path, line)
            return f"on line {mapped}" if mapped else f"on line {line} of the prelude"

        return _ON_LINE.sub(shift, text)

    def deepest_line(self, frames: list[list[Any]]) -> int:
        for filename, line, _name, _text in reversed(frames):
            mapped = self.to_candidate(filename, line)
            if mapped:
                return mapped
        return 0


def compile_error(record: dict[str, Any], source_map: SourceMap) -> ErrorInfo:
    syntax = record.get("syntax") or {}
    line = source_map.to_candidate(source_map.path, int(syntax.get("lineno") or 0))
    message = source_map.message(str(record.get("message", "")))
    exc_type = str(record.get("exc_type", "SyntaxError"))
    subtype, line = compile_error_subtype(exc_type, message, line, source_map.source_lines)
    return ErrorInfo(
        type=exc_type, message=message, line=line, subtype=subtype, traceback="", test_index=-1
    )


def _signal_name(exit_code: int) -> str:
    try:
        return signal.Signals(-exit_code).name
    except ValueError:
        return f"signal {-exit_code}"


def _truncate(text: str) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= CAPTURE_BYTES:
        return text, False
    return data[:CAPTURE_BYTES].decode("utf-8", "ignore"), True


@dataclass
class _Outcome:
    status: Status
    error: ErrorInfo | None = None
    actual: str = ""
    expected: str = ""


def _limit_outcome(record: dict[str, Any], limits: ResolvedLimits, index: int) -> _Outcome | None:
    child = record.get("child") or {}
    exceeded = limit_exceeded(
        record,
        limits,
        index,
        memory_error_type="MemoryError",
        out_of_memory=child.get("exc_type") == "MemoryError",
    )
    return None if exceeded is None else _Outcome(*exceeded)


def _exception_outcome(child: dict[str, Any], source_map: SourceMap, index: int) -> _Outcome:
    frames = child.get("frames") or []
    exc_type = str(child.get("exc_type", "Exception"))
    message = str(child.get("message", ""))
    line = source_map.deepest_line(frames)
    error = ErrorInfo(
        type=exc_type,
        message=message,
        line=line,
        traceback=source_map.traceback(frames),
        subtype=runtime_error_subtype(exc_type, message, line),
        test_index=index,
    )
    if child.get("outcome") == "assert_failed":
        return _Outcome(Status.WRONG_ANSWER, error.model_copy(update={"subtype": Subtype.IGNORE}))
    return _Outcome(Status.RUNTIME_ERROR, error)


def _tampering_outcome(record: dict[str, Any], index: int) -> _Outcome | None:
    """A test that changed the harness process from outside (``prlimit`` on pid 1, ...)."""
    tampered = record.get("tampered")
    if not tampered:
        return None
    error = ErrorInfo(
        type="SandboxTampering",
        message=f"the program changed the sandbox's {tampered}",
        subtype=Subtype.IGNORE,
        test_index=index,
    )
    return _Outcome(Status.RUNTIME_ERROR, error)


def _unreportable_outcome(child: dict[str, Any], index: int) -> _Outcome:
    """A completion record whose outcome is neither ok nor an exception: never a pass."""
    error = ErrorInfo(
        type="Unreportable",
        message=f"the test's result could not be reported ({child.get('outcome')!r})",
        subtype=Subtype.IGNORE,
        test_index=index,
    )
    return _Outcome(Status.RUNTIME_ERROR, error)


def _no_record_outcome(record: dict[str, Any], index: int) -> _Outcome:
    exit_code = int(record.get("exit_code", 0))
    if exit_code < 0:
        name = _signal_name(exit_code)
        error = ErrorInfo(
            type=name, message=f"killed by {name}", subtype=Subtype.IGNORE, test_index=index
        )
    else:
        error = ErrorInfo(
            type="SystemExit",
            message=f"the program exited with code {exit_code} before the test completed",
            subtype=Subtype.IGNORE,
            test_index=index,
        )
    return _Outcome(Status.RUNTIME_ERROR, error)


def _output_outcome(
    child: dict[str, Any], record: dict[str, Any], test: TestCase, index: int
) -> _Outcome:
    body = test.body
    checker = test.resolved_checker()
    if isinstance(body, CallTest):
        if "unserialisable" in child:
            actual = f"<not JSON data: {child['unserialisable']}>"
            matched = False
        else:
            actual = str(child.get("value_json", "null"))
            matched = checkers.value_matches(actual, body.expected_json, checker)
        expected = body.expected_json
    elif isinstance(body, ProgramRun):
        return _Outcome(Status.PASSED)
    elif isinstance(body, StdioTest):
        actual = str(record.get("stdout", ""))
        expected = body.expected_stdout
        matched = checkers.stdout_matches(actual, expected, checker)
    else:
        return _Outcome(Status.PASSED)
    if matched:
        return _Outcome(Status.PASSED)
    error = ErrorInfo(
        type="WrongAnswer",
        message=f"expected {expected[:200]!r}, got {actual[:200]!r}",
        subtype=Subtype.IGNORE,
        test_index=index,
    )
    return _Outcome(Status.WRONG_ANSWER, error, actual=actual, expected=expected)


def interpret_test(
    record: dict[str, Any],
    test: TestCase,
    index: int,
    limits: ResolvedLimits,
    source_map: SourceMap,
) -> tuple[TestResult, set[int]]:
    """One harness test record → the caller's test result, plus executed candidate lines."""
    child = record.get("child")
    outcome = _tampering_outcome(record, index) or _limit_outcome(record, limits, index)
    if outcome is None:
        if child is None:
            outcome = _no_record_outcome(record, index)
        elif child.get("outcome") in {"exception", "assert_failed"}:
            outcome = _exception_outcome(child, source_map, index)
        elif child.get("outcome") == "ok":
            outcome = _output_outcome(child, record, test, index)
        else:
            outcome = _unreportable_outcome(child, index)
    stdout, stdout_cut = _truncate(str(record.get("stdout", "")))
    stderr, stderr_cut = _truncate(str(record.get("stderr", "")))
    lines = {
        mapped
        for line in (child or {}).get("lines", [])
        if (mapped := source_map.to_candidate(source_map.path, int(line)))
    }
    result = TestResult(
        index=index,
        name=test.name,
        status=outcome.status,
        cpu_time_ms=float(record.get("cpu_ms", 0.0)),
        wall_time_ms=float(record.get("wall_ms", 0.0)),
        peak_memory_bytes=int(record.get("peak_memory_bytes", 0)),
        stdout=stdout,
        stderr=stderr,
        stdout_truncated=stdout_cut or record.get("stdout_total", 0) > len(stdout.encode()),
        stderr_truncated=stderr_cut or record.get("stderr_total", 0) > len(stderr.encode()),
        actual=outcome.actual,
        expected=outcome.expected,
        checker=test.reported_checker(),
        error=outcome.error,
        exit_code=_exit_code(record, child),
    )
    return result, lines


def _exit_code(record: dict[str, Any], child: dict[str, Any] | None) -> int:
    """The exit code the program would have ended with on its own. The harness's child always
    exits 0 after reporting, so a non-zero code or a signal is the process's own; otherwise the
    child's record says how the program ended: sys.exit(N) gives N, and an uncaught exception
    1, as CPython ends a script."""
    code = int(record.get("exit_code", 0))
    if code != 0 or child is None:
        return code
    if "exit_code" in child:
        return int(child["exit_code"])
    return 1 if child.get("outcome") in {"exception", "assert_failed"} else 0
