"""What a language module provides to the shared runner, and the pieces they all use.

A language module turns a request into a *build plan* (files to write, compile commands), names
the command that runs one test, and reads its compiler's and its runtime's error reports into
verdict fields in the candidate's own coordinates. Everything else (jails, limits, the cache,
checkers, precedence) is the runner's, so the six languages behave alike by construction.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from crucible.sandbox_service.engine.languages import rules
from crucible.sandbox_service.engine.verdict import LineCoverage
from crucible.sandbox_service.models import (
    Capabilities,
    ErrorInfo,
    ExecuteRequest,
    Language,
    ResolvedLimits,
    Status,
    Subtype,
    TestCase,
)

RUNTIME_DIR = Path(__file__).with_name("runtime")
# Where a jail sees the build directory, the runtime files and its scratch space.
JAIL_BUILD = "/build"
JAIL_RUNTIME = "/opt/crucible/native"
JAIL_WORK = "/tmp"
# The completion marker language drivers write to the result pipe (fd 3) after a test's code
# returned normally: a program that exits early never writes it.
OK_RECORD = '{"outcome":"ok"}'
# Where toolchains are looked up: never $PATH, whose first entries may be a user's rustup or
# nvm outside the directories the jail shows.
TOOL_PATH = "/usr/local/bin:/usr/bin:/bin"
_JAIL_VISIBLE = ("/usr/", "/bin/", "/lib/", "/lib64/")
# Stack of a command's main thread: up to 64 MiB (deep recursion is common in contest code),
# but at most a quarter of the memory limit, so unbounded recursion overflows the stack before
# it meets the memory verdict.
STACK_BYTES = 64 << 20
# The run jail's scratch folder where an instrumented program writes its coverage counters.
COVERAGE_DIR = ".crucible-coverage"
# How comment lines start in the C-like languages ("*": inside a block comment).
_COMMENT_STARTS = ("//", "/*", "*")


class UnsupportedTest(ValueError):
    """A test kind a language does not offer; the message names the test and the way out."""


@dataclass(frozen=True)
class Paths:
    """Where commands see things: the jail's fixed paths, or host paths without a jail."""

    build: str
    runtime: str
    work: str

    @classmethod
    def jailed(cls) -> Paths:
        return cls(build=JAIL_BUILD, runtime=JAIL_RUNTIME, work=JAIL_WORK)


@dataclass(frozen=True)
class Command:
    """One process the supervisor starts: argv (absolute program path), environment, cwd."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    # Follow-up commands run after it in the same jail (coverage readers, symbolisers).
    post: list[list[str]] = field(default_factory=list)
    # The stderr line prefix that carries fault addresses for a ``{addresses}`` post step.
    fault_marker: str = ""
    # A directory whose files are returned after the run (coverage data).
    collect: str = ""


@dataclass(frozen=True)
class BuildPlan:
    """Files to write into the build directory, then compile commands to run in order."""

    files: dict[str, str]
    steps: list[Command]

    def cache_key(self, language: str, version: str, runtime: Path = RUNTIME_DIR) -> str:
        """Identifies the artifact: same language, toolchain, files, flags and ``runtime`` files
        (compile steps link or load them), same build."""
        steps = [[step.argv, sorted(step.env.items())] for step in self.steps]
        payload = json.dumps(
            [language, version, runtime_digest(runtime), sorted(self.files.items()), steps]
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@cache
def runtime_digest(directory: Path) -> str:
    """SHA-256 over the relative names and contents of the files under ``directory``. Read once
    per process: an upgrade that changes a runtime file gets new cache keys, so an artifact
    built against the old file (kept in a persistent cache) is never served."""
    digest = hashlib.sha256()
    for path in sorted(item for item in directory.rglob("*") if item.is_file()):
        name = path.relative_to(directory).as_posix().encode()
        content = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)) + content)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceMap:
    """Maps file coordinates in reports back to the candidate's ``source``.

    The candidate's file holds ``prelude + source``; tools report it by path or by base name,
    so files are matched by base name (every generated file has a distinct one)."""

    filename: str
    prelude_lines: int
    source_lines: int

    def to_candidate(self, path: str, line: int) -> int:
        if PurePosixPath(path.strip()).name != self.filename or line <= self.prelude_lines:
            return 0
        return line - self.prelude_lines


@dataclass(frozen=True)
class Failure:
    """What a test's reports say went wrong: status, error class, message, candidate line."""

    status: Status
    type: str
    message: str
    line: int = 0
    traceback: str = ""
    subtype: Subtype | None = None

    def error(self, language: str, index: int) -> ErrorInfo:
        subtype = self.subtype
        if subtype is None:
            subtype = rules.runtime_subtype(language, self.type, self.message, self.line)
        return ErrorInfo(
            type=self.type,
            message=self.message[:4096],
            line=self.line,
            traceback=self.traceback[:16384],
            subtype=subtype,
            test_index=index,
        )


def stack_limit(limits: ResolvedLimits) -> int:
    """Stack size of a test's main thread (its rlimit; the JVM's -Xss)."""
    return min(STACK_BYTES, limits.memory_limit_bytes // 4)


def candidate_source(request: ExecuteRequest) -> tuple[str, int]:
    """The candidate's file (``prelude + source``) and the prelude's line count."""
    prelude = request.prelude
    if prelude and not prelude.endswith("\n"):
        prelude += "\n"
    return prelude + request.source, prelude.count("\n")


def source_map(request: ExecuteRequest, filename: str) -> SourceMap:
    _, prelude_lines = candidate_source(request)
    return SourceMap(filename, prelude_lines, len(request.source.splitlines()))


@cache
def tool(name: str) -> str | None:
    """Absolute, symlink-free path of a toolchain program a jail can see, or None."""
    found = shutil.which(name, path=TOOL_PATH)
    if found is None:
        return None
    resolved = str(Path(found).resolve())
    return resolved if resolved.startswith(_JAIL_VISIBLE) else None


@cache
def tool_output(*argv: str) -> str:
    """stdout+stderr of a version query, run once per process."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def holds_code(line: str) -> bool:
    """Whether a source line of a C-like language holds code: blank lines and lines holding
    only a comment never count as executed, even where a tool's range spans them."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(_COMMENT_STARTS)


def first_version(text: str) -> str:
    match = re.search(r"\d+\.\d+(?:\.\d+)?", text)
    return match.group(0) if match else "unknown"


def base_env(paths: Paths) -> dict[str, str]:
    return {"PATH": TOOL_PATH, "HOME": paths.work, "LANG": "C.UTF-8", "TMPDIR": paths.work}


def frames_text(frames: list[tuple[str, int, str]], smap: SourceMap) -> str:
    """A traceback with candidate-relative lines (``solution.x:LINE``) and other files as is."""
    out: list[str] = []
    repeats = 0
    for path, line, function in frames:
        mapped = smap.to_candidate(path, line)
        name = PurePosixPath(path).name
        if mapped:
            where = f"{smap.filename}:{mapped}"
        elif name == smap.filename:
            where = "<prelude>"
        else:
            where = f"{name}:{line}"
        text = f"  at {function} ({where})" if function else f"  at {where}"
        if out and out[-1] == text:
            repeats += 1
            continue
        if repeats:
            out.append(f"  [previous frame repeated {repeats} more times]")
            repeats = 0
        out.append(text)
    if repeats:
        out.append(f"  [previous frame repeated {repeats} more times]")
    return "\n".join(out)


def deepest_candidate_line(frames: list[tuple[str, int, str]], smap: SourceMap) -> int:
    """The innermost frame (frames are innermost first) that lies in the candidate."""
    for path, line, _ in frames:
        mapped = smap.to_candidate(path, line)
        if mapped:
            return mapped
    return 0


def result_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """The first JSON object a driver wrote to the result pipe, if any."""
    for line in str(record.get("result", "")).splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    return None


def signal_name(exit_code: int) -> str:
    try:
        return signal.Signals(-exit_code).name
    except ValueError:
        return f"signal {-exit_code}"


class LanguageSpec(ABC):
    """One language: toolchain, build plan, run command and error readers."""

    name: str
    title: str
    suffix: str
    call_tests: bool = False

    @abstractmethod
    def version(self) -> str | None:
        """Runtime/compiler version shown to callers, or None when the toolchain is missing."""

    def extra_binds(self) -> list[tuple[str, str]]:
        """Host directories (outside /usr, /lib, /bin) the toolchain needs, read-only."""
        return []

    def executed_lines(self) -> bool:
        """Whether this language fills ``executed_lines`` when coverage is asked."""
        return False

    def executable_lines(self) -> bool:
        """Whether its coverage tool also says which lines could have run (``executable``)."""
        return False

    def language(self) -> Language | None:
        version = self.version()
        if version is None:
            return None
        return Language(
            name=self.name,
            runtime=version,
            file_suffix=self.suffix,
            capabilities=Capabilities(
                assert_tests=True,
                call_tests=self.call_tests,
                stdio_tests=True,
                error_type=True,
                error_line=True,
                error_subtype=True,
                executed_lines=self.executed_lines(),
                peak_memory=True,
                compile_step=True,
                executable_lines=self.executable_lines(),
            ),
        )

    def check_tests(self, tests: list[TestCase]) -> None:
        for index, test in enumerate(tests):
            if test.body.kind == "call" and not self.call_tests:
                raise UnsupportedTest(
                    f"tests[{index}].call_test: call tests are not offered for {self.name!r} "
                    "(no generic way to drive a function signature; see ListLanguages "
                    "capabilities.call_tests); use an assert_test or a stdio_test"
                )

    @abstractmethod
    def candidate_file(self, request: ExecuteRequest) -> str:
        """File name of the candidate's source in the build directory."""

    @abstractmethod
    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        """Files and compile commands for the test kinds the request uses."""

    @abstractmethod
    def command(
        self,
        test: TestCase,
        index: int,
        paths: Paths,
        limits: ResolvedLimits,
        smap: SourceMap,
        coverage: bool,
    ) -> tuple[Command, str]:
        """The command that runs one test, and its stdin."""

    @abstractmethod
    def compile_error(self, output: str, smap: SourceMap) -> ErrorInfo:
        """The first error of a failed compile step, in candidate coordinates."""

    @abstractmethod
    def failure(self, record: dict[str, Any], test: TestCase, smap: SourceMap) -> Failure | None:
        """What went wrong in a test's run (None: it ran to a normal end)."""

    def stderr_for_user(self, text: str) -> str:
        """The test's stderr as returned to the caller (supervisor plumbing removed)."""
        return text

    def coverage_lines(self, record: dict[str, Any], smap: SourceMap, text: str) -> LineCoverage:
        """Executed candidate lines from a test's coverage data (``text``: the candidate's
        file, prelude included), and the lines that could have run where
        :meth:`executable_lines` says the tool knows them."""
        return LineCoverage(executed=set())

    def compile_info(
        self, smap: SourceMap, path: str, line: int, message: str, error_type: str
    ) -> ErrorInfo:
        """A compile error at ``path:line`` classified by this language's rules."""
        mapped = smap.to_candidate(path, line)
        subtype, reported = rules.compile_subtype(self.name, message, mapped, smap.source_lines)
        return ErrorInfo(
            type=error_type,
            message=message[:4096],
            line=reported,
            subtype=subtype,
            test_index=-1,
        )
