"""Rust with ``rustc`` (no Cargo: one file, the standard library only).

Builds: ``-C opt-level=2`` with overflow checks and debug assertions on, so arithmetic overflow
panics at its line as a debug build would; diagnostics come as JSON (``--error-format=json``),
so the first error's code (``E0425``), message and primary span are read exactly.

Tests: ``stdio`` runs the program. ``assert`` tests are Rust statements (``assert!``,
``assert_eq!``) compiled into one test binary: the candidate's file is included into a module
(its ``main``, if any, is just an unused function there), each test becomes a function of that
module holding ``include!("test_N.rs")`` (so it sees the candidate's private items), and the
binary's ``main`` runs the test whose index it is given. A panic located in the test file
(``assert!``, ``assert_eq!``, also with a custom message) is a failed test; any other panic is a
runtime error at its location (``#[track_caller]`` makes ``unwrap`` and indexing report the
candidate's line). ``runtime/crucible_rt.c`` is linked in, with line tables (``debuginfo=1``),
so a stack overflow or another fatal signal reports its line as in C (Rust's own overflow
message needs /proc, which run jails do not have).

Coverage: requests that ask for it get a ``-C instrument-coverage`` build (same optimisation:
the counters come from MIR, before LLVM optimises, so every line keeps its own mapping) and the
executed lines come from LLVM's tools (:mod:`llvm_coverage`). Debian's rustc ships no
``profiler_builtins`` crate, so the compile jail first builds ``runtime/profiler_builtins.rs``
around ``libclang-rt-<llvm>-dev``'s profile runtime and the candidate's build finds it with
``-L crate=``; only that trusted crate is built with ``RUSTC_BOOTSTRAP=1``, so a candidate's
``#![feature]`` is the same compile error with or without coverage.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from crucible.sandbox_service.engine.languages import base, faults, llvm_coverage
from crucible.sandbox_service.engine.languages.base import (
    OK_RECORD,
    BuildPlan,
    Command,
    Failure,
    LanguageSpec,
    Paths,
    SourceMap,
)
from crucible.sandbox_service.engine.verdict import LineCoverage
from crucible.sandbox_service.models import (
    AssertTest,
    ErrorInfo,
    ExecuteRequest,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
    TestCase,
)

_FLAGS = [
    "--edition",
    "2021",
    "-C",
    "opt-level=2",
    "-C",
    "overflow-checks=on",
    "-C",
    "debug-assertions=on",
    "-C",
    "debuginfo=1",
    "-A",
    "warnings",
    "--error-format=json",
]
# rustc 1.63: panicked at 'MESSAGE', FILE:LINE:COL; rustc >= 1.73: panicked at FILE:LINE:COL:\n
_PANIC_OLD = re.compile(
    r"thread '(?P<thread>[^']*)' panicked at '(?P<message>.*?)', "
    r"(?P<file>[^\s:]+):(?P<line>\d+):\d+$",
    re.S | re.M,
)
_PANIC_NEW = re.compile(
    r"thread '(?P<thread>[^']*)' panicked at (?P<file>[^\s:]+):(?P<line>\d+):\d+:\n"
    r"(?P<message>.*?)(?:\nnote: |\Z)",
    re.S,
)
_ALLOCATION = re.compile(r"memory allocation of \d+ bytes failed")
_TEST_FILE = re.compile(r"(?:^|/)test_\d+\.rs$")


class Rust(LanguageSpec):
    name = "rust"
    title = "rustc"
    suffix = ".rs"

    def version(self) -> str | None:
        rustc = base.tool("rustc")
        if rustc is None or base.tool("cc") is None or not faults.available():
            return None
        return f"{self.title} {base.first_version(base.tool_output(rustc, '--version'))}"

    def candidate_file(self, request: ExecuteRequest) -> str:
        return "solution.rs"

    def executed_lines(self) -> bool:
        return _coverage_tools() is not None

    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        rustc, linker = base.tool("rustc"), base.tool("cc")
        assert rustc is not None and linker is not None
        # /usr/bin/cc reaches gcc through /etc/alternatives, which jails do not show.
        flags = [*_FLAGS, "-C", f"linker={linker}", "-C", "link-arg=crucible_rt.o"]
        source, _ = base.candidate_source(request)
        files = {"solution.rs": source}
        env = base.base_env(paths)
        runtime = [linker, "-O2", "-c", "-o", "crucible_rt.o", faults.runtime_source(paths)]
        profiler: list[Command] = []
        if coverage:
            runtime.append("-DCRUCIBLE_LLVM_COVERAGE")
            flags += ["-C", "instrument-coverage", "-L", f"crate={paths.build}"]
            profiler.append(_profiler_crate(rustc, paths))
        steps = [Command(runtime, env, paths.build), *profiler]
        kinds = {test.body.kind for test in request.tests}
        if "stdio" in kinds:
            argv = [rustc, *flags, "--crate-name", "solution", "-o", "prog", "solution.rs"]
            steps.append(Command(argv, env, paths.build))
        if "assert" in kinds:
            for index, test in enumerate(request.tests):
                if isinstance(test.body, AssertTest):
                    files[f"test_{index}.rs"] = "{\n" + test.body.code + "\n}\n"
            files["crucible_main.rs"] = _assert_driver(request.tests)
            argv = [rustc, *flags, "--crate-name", "tests", "-o", "tests", "crucible_main.rs"]
            steps.append(Command(argv, env, paths.build))
        return BuildPlan(files=files, steps=steps)

    def command(
        self,
        test: TestCase,
        index: int,
        paths: Paths,
        limits: ResolvedLimits,
        smap: SourceMap,
        coverage: bool,
    ) -> tuple[Command, str]:
        env = {**base.base_env(paths), "RUST_BACKTRACE": "0"}
        if isinstance(test.body, StdioTest):
            binary, argv, stdin = f"{paths.build}/prog", [], test.body.stdin
        else:
            binary, argv, stdin = f"{paths.build}/tests", [str(index)], ""
        post: list[list[str]] = []
        if coverage:
            tools = _coverage_tools()
            assert tools is not None
            env["LLVM_PROFILE_FILE"] = llvm_coverage.profile_file(paths.work, binary)
            post = llvm_coverage.post_steps(tools, paths.work, binary)
        command = Command([binary, *argv], env, paths.work, post=post)
        return faults.with_symboliser(command, binary), stdin

    def executable_lines(self) -> bool:
        return self.executed_lines()

    def coverage_lines(self, record: dict[str, Any], smap: SourceMap, text: str) -> LineCoverage:
        post = record.get("post") or []
        if len(post) < 3:
            return LineCoverage(executed=set())
        return llvm_coverage.line_coverage(str(post[1]), smap, text)

    def stderr_for_user(self, text: str) -> str:
        return faults.without_marker(text)

    def compile_error(self, output: str, smap: SourceMap) -> ErrorInfo:
        for line in output.splitlines():
            try:
                diagnostic = json.loads(line)
            except ValueError:
                continue
            if not isinstance(diagnostic, dict) or diagnostic.get("level") != "error":
                continue
            message = str(diagnostic.get("message", ""))
            if message.startswith("aborting due to"):
                continue
            code = (diagnostic.get("code") or {}).get("code") or "CompileError"
            spans = [span for span in diagnostic.get("spans", []) if span.get("is_primary")]
            if not spans:
                return self.compile_info(smap, "", 0, message, code)
            span = spans[0]
            return self.compile_info(
                smap, str(span["file_name"]), int(span["line_start"]), message, code
            )
        first = next((line for line in output.splitlines() if line.strip()), "rustc failed")
        return self.compile_info(smap, "", 0, first, "CompileError")

    def failure(self, record: dict[str, Any], test: TestCase, smap: SourceMap) -> Failure | None:
        stderr = str(record.get("stderr", ""))
        allocation = _ALLOCATION.search(stderr)
        if allocation is not None:
            return Failure(
                Status.MEMORY_LIMIT_EXCEEDED,
                "AllocationFailed",
                allocation.group(0),
                0,
                "",
                Subtype.GLOBAL,
            )
        panic = _PANIC_OLD.search(stderr) or _PANIC_NEW.search(stderr)
        if panic is None:
            return faults.fault(record, smap)
        message = panic["message"].strip()
        where = f"{panic['file']}:{panic['line']}"
        line = smap.to_candidate(panic["file"], int(panic["line"]))
        traceback = f"thread '{panic['thread']}' panicked at {where}:\n{message}"
        if _TEST_FILE.search(panic["file"]):
            return Failure(Status.WRONG_ANSWER, "panic", message, 0, traceback, Subtype.IGNORE)
        return Failure(Status.RUNTIME_ERROR, "panic", message, line, traceback)


@cache
def _coverage_tools() -> llvm_coverage.Toolchain | None:
    """The LLVM coverage tools of the LLVM rustc was built with (``rustc -vV``), or None."""
    rustc = base.tool("rustc")
    if rustc is None:
        return None
    verbose = base.tool_output(rustc, "-vV")
    llvm = re.search(r"^LLVM version: (\d+)\.", verbose, re.M)
    host = re.search(r"^host: (\w+)-", verbose, re.M)
    if llvm is None or host is None:
        return None
    return llvm_coverage.toolchain(llvm[1], host[1])


def _profiler_crate(rustc: str, paths: Paths) -> Command:
    """The compile step of the ``profiler_builtins`` crate that wraps LLVM's profile runtime
    (why: the module docstring); compiled before the programs that link it."""
    tools = _coverage_tools()
    assert tools is not None
    library = tools.runtime.stem.removeprefix("lib")
    argv = [rustc, "--crate-type", "rlib", "--crate-name", "profiler_builtins"]
    argv += ["-L", f"native={tools.runtime.parent}", "-l", f"static={library}"]
    argv += ["-o", "libprofiler_builtins.rlib", f"{paths.runtime}/profiler_builtins.rs"]
    return Command(argv, {**base.base_env(paths), "RUSTC_BOOTSTRAP": "1"}, paths.build)


def _assert_driver(tests: list[TestCase]) -> str:
    out = [
        "#![allow(dead_code, unused_imports, unused_variables, unused_mut, unused_macros)]",
        "#![allow(non_snake_case, unreachable_code)]",
        "mod candidate {",
        '    include!("solution.rs");',
    ]
    arms = []
    for index, test in enumerate(tests):
        if isinstance(test.body, AssertTest):
            out.append(f'    pub fn crucible_test_{index}() {{ include!("test_{index}.rs") }}')
            arms.append(f"        {index} => candidate::crucible_test_{index}(),")
    marker = OK_RECORD.replace('"', '\\"')
    out += [
        "}",
        "fn main() {",
        "    use std::io::Write;",
        "    use std::os::unix::io::FromRawFd;",
        "    let index: usize = std::env::args().nth(1).and_then(|a| a.parse().ok())",
        "        .unwrap_or(usize::MAX);",
        "    match index {",
        *arms,
        "        _ => std::process::exit(2),",
        "    }",
        "    let _ = std::io::stdout().flush();",
        "    let mut result = unsafe { std::fs::File::from_raw_fd(3) };",
        f'    let _ = result.write_all(b"{marker}\\n");',
        "}",
    ]
    return "\n".join(out) + "\n"


RUST = Rust()
