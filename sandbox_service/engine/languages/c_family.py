"""C and C++ with GCC: UndefinedBehaviorSanitizer and a fault handler give the failing line.

Builds: ``-O2 -g`` with ``-fsanitize=undefined -fno-sanitize-recover=all`` (division by zero,
signed overflow, null dereference, out-of-bounds array indexing stop the program with
``file:line: runtime error: ...``), frame pointers, and ``runtime/crucible_rt.c`` linked in:
on SIGSEGV/SIGFPE/SIGBUS/SIGILL/SIGABRT it prints the program counter and return addresses,
which ``addr2line`` resolves inside the jail, so a crash reports its signal *and* its line.

Tests: ``stdio`` runs the program as written. ``assert`` tests are C statements using
``assert`` (``<assert.h>``), compiled into one test binary with the candidate: the candidate's
``main`` (if any) is renamed, every test becomes a function placed under ``#line 1 "test_N"``
(so an assertion failing in the test itself reads ``test_N:LINE``) and the binary's ``main`` runs
the test whose index it is given. ``assert.h`` is included again after the candidate, with
``NDEBUG`` undefined, so a candidate cannot switch the tests' assertions off.

Coverage: requests that ask for it get an unoptimised ``--coverage`` build; each test's counts
are read with ``gcov --json-format`` inside the run jail, and lines with a non-zero count are the
executed ones (the fault handler flushes the counts of a crashing program too).
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from crucible.sandbox_service.engine.languages import base, faults
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

_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? (?:fatal )?error: (?P<message>.*)$", re.M
)
# The assembler's own errors (inline ``asm`` it reads: ``{standard input}:3: Error: ...``).
_ASSEMBLER = re.compile(r"^[^:\n]+:\d+: Error: (?P<message>.*)$", re.M)
_LINK = re.compile(r"(?P<message>undefined reference to .*|multiple definition of .*)$", re.M)
_UBSAN = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):\d+: runtime error: (?P<message>.*)$", re.M)
_ASSERT = re.compile(
    r"^.*?: (?P<file>[^:\n]+):(?P<line>\d+): (?P<function>[^\n]*?): "
    r"Assertion `(?P<expression>.*)' failed\.$",
    re.M,
)
_TERMINATE = re.compile(
    r"terminate called after throwing an instance of '(?P<type>[^']+)'"
    r"(?:\n\s*what\(\):\s*(?P<message>.*))?"
)
_NOISE = re.compile(r"^==\d+==WARNING: reading executable name.*\n?", re.M)
_MEMORY_EXCEPTIONS = frozenset({"std::bad_alloc", "std::bad_array_new_length"})


class CFamily(LanguageSpec):
    """C (``gcc``) or C++ (``g++``)."""

    def __init__(self, name: str, title: str, suffix: str, compiler: str, std: str) -> None:
        self.name, self.title, self.suffix = name, title, suffix
        self._compiler, self._std = compiler, std

    def version(self) -> str | None:
        compiler = base.tool(self._compiler)
        if compiler is None or not faults.available():
            return None
        return f"{self.title} {base.tool_output(compiler, '-dumpfullversion')}"

    def candidate_file(self, request: ExecuteRequest) -> str:
        return f"solution{self.suffix}"

    def executed_lines(self) -> bool:
        return base.tool("gcov") is not None and base.tool("cp") is not None

    def _flags(self, coverage: bool) -> list[str]:
        # Coverage builds are unoptimised so that every line keeps its own code.
        optimise = ["-O0", "--coverage", "-DCRUCIBLE_COVERAGE"] if coverage else ["-O2"]
        flags = [self._std, *optimise, "-g", "-pipe", "-fno-omit-frame-pointer"]
        flags += ["-fsanitize=undefined", "-fno-sanitize-recover=all"]
        if self.name == "c":
            # gcc 12 only warns; the link error it leads to would have no line.
            flags.append("-Werror=implicit-function-declaration")
        return flags

    def _link(self, paths: Paths) -> list[str]:
        return ["-x", "c", faults.runtime_source(paths), "-x", "none", "-lm"]

    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        compiler = base.tool(self._compiler)
        assert compiler is not None
        source, _ = base.candidate_source(request)
        candidate = self.candidate_file(request)
        files = {candidate: source}
        env = {**base.base_env(paths), "LC_ALL": "C"}
        steps = []
        kinds = {test.body.kind for test in request.tests}
        flags, link = self._flags(coverage), self._link(paths)
        if "stdio" in kinds:
            argv = [compiler, *flags, "-o", "prog", candidate, *link]
            steps.append(Command(argv=argv, env=env, cwd=paths.build))
        if "assert" in kinds:
            driver = f"crucible_tests{self.suffix}"
            files[driver] = _assert_driver(candidate, request.tests)
            argv = [compiler, *flags, "-o", "tests", driver, *link]
            steps.append(Command(argv=argv, env=env, cwd=paths.build))
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
        if isinstance(test.body, StdioTest):
            binary, argv, stdin = f"{paths.build}/prog", [], test.body.stdin
        else:
            binary, argv, stdin = f"{paths.build}/tests", [str(index)], ""
        env = {**base.base_env(paths), "UBSAN_OPTIONS": "print_stacktrace=0"}
        post: list[list[str]] = []
        if coverage:
            post = self._coverage_steps(paths, binary, env)
        command = Command(argv=[binary, *argv], env=env, cwd=paths.work, post=post)
        return faults.with_symboliser(command, binary), stdin

    def _coverage_steps(self, paths: Paths, binary: str, env: dict[str, str]) -> list[list[str]]:
        """gcov reads the counts the program wrote at exit (redirected into the scratch
        directory: the build is read-only) next to a copy of the compile-time notes file."""
        copy, gcov = base.tool("cp"), base.tool("gcov")
        assert copy is not None and gcov is not None
        name = PurePosixPath(binary).name
        source = self._source_of(name)
        notes = f"{name}-{PurePosixPath(source).stem}"
        directory = f"{paths.work}/{base.COVERAGE_DIR}"
        env["GCOV_PREFIX"] = directory
        env["GCOV_PREFIX_STRIP"] = str(len(PurePosixPath(paths.build).parts) - 1)
        return [
            [copy, f"{paths.build}/{notes}.gcno", f"{directory}/"],
            [gcov, "--json-format", "--stdout", f"{directory}/{notes}.gcda"],
        ]

    def _source_of(self, binary: str) -> str:
        """The source a binary was built from: the candidate, or the assert-test driver."""
        return f"crucible_tests{self.suffix}" if binary == "tests" else f"solution{self.suffix}"

    def executable_lines(self) -> bool:
        return True

    def coverage_lines(self, record: dict[str, Any], smap: SourceMap, text: str) -> LineCoverage:
        """gcov lists every line that holds code, with its count (0 for code that did not
        run): the listed lines are the executable ones, those counted the executed ones."""
        coverage = LineCoverage(executed=set())
        post = record.get("post") or []
        if len(post) < 3:
            return coverage
        try:
            report = json.loads(post[1])
        except ValueError:
            return coverage
        for source in report.get("files", []):
            for line in source.get("lines", []):
                mapped = smap.to_candidate(str(source.get("file", "")), int(line["line_number"]))
                if mapped:
                    coverage.executable.add(mapped)
                    if line.get("count", 0) > 0:
                        coverage.executed.add(mapped)
        return coverage

    def compile_error(self, output: str, smap: SourceMap) -> ErrorInfo:
        found = _DIAGNOSTIC.search(output)
        if found is not None:
            line = int(found["line"])
            return self.compile_info(smap, found["file"], line, found["message"], "CompileError")
        assembled = _ASSEMBLER.search(output)
        if assembled is not None:
            return self.compile_info(smap, "", 0, assembled["message"], "AssemblerError")
        linked = _LINK.search(output)
        if linked is not None:
            return self.compile_info(smap, "", 0, linked["message"], "LinkError")
        first = next((line for line in output.splitlines() if line.strip()), "compile failed")
        return self.compile_info(smap, "", 0, first, "CompileError")

    def stderr_for_user(self, text: str) -> str:
        return _NOISE.sub("", faults.without_marker(text))

    def failure(self, record: dict[str, Any], test: TestCase, smap: SourceMap) -> Failure | None:
        stderr = str(record.get("stderr", ""))
        frames = faults.frames(record)
        line = base.deepest_candidate_line(frames, smap)
        traceback = base.frames_text(frames, smap)
        asserted = _ASSERT.search(stderr)
        if asserted is not None:
            message = f"Assertion `{asserted['expression']}' failed"
            if asserted["file"].startswith("test_"):
                return Failure(Status.WRONG_ANSWER, "AssertionError", message, 0, traceback, _I)
            at = smap.to_candidate(asserted["file"], int(asserted["line"]))
            return Failure(Status.RUNTIME_ERROR, "AssertionError", message, at, traceback)
        sanitised = _UBSAN.search(stderr)
        if sanitised is not None:
            at = smap.to_candidate(sanitised["file"], int(sanitised["line"]))
            return Failure(Status.RUNTIME_ERROR, "UndefinedBehavior", sanitised["message"], at)
        thrown = _TERMINATE.search(stderr)
        if thrown is not None:
            status = Status.RUNTIME_ERROR
            subtype = None
            if thrown["type"] in _MEMORY_EXCEPTIONS:
                status, subtype = Status.MEMORY_LIMIT_EXCEEDED, Subtype.GLOBAL
            message = (thrown["message"] or "uncaught exception").strip()
            return Failure(status, thrown["type"], message, line, traceback, subtype)
        return faults.fault(record, smap)


_I = Subtype.IGNORE


def _assert_driver(candidate: str, tests: list[TestCase]) -> str:
    out = [
        "#define main crucible_candidate_main",
        f'#include "{candidate}"',
        "#undef main",
        "#undef NDEBUG",
        "#include <assert.h>",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "#include <unistd.h>",
    ]
    cases = []
    for index, test in enumerate(tests):
        if not isinstance(test.body, AssertTest):
            continue
        out += [f"static void crucible_test_{index}(void) {{", f'#line 1 "test_{index}"']
        out += [test.body.code, "}"]
        cases.append(f"    case {index}: crucible_test_{index}(); break;")
    marker = OK_RECORD.replace('"', '\\"') + "\\n"
    out += [
        '#line 1 "crucible_tests"',
        "int main(int argc, char **argv) {",
        f'    static const char ok[] = "{marker}";',
        "    switch (argc > 1 ? atoi(argv[1]) : -1) {",
        *cases,
        "    default: return 2;",
        "    }",
        "    fflush(stdout);",
        "    if (write(3, ok, sizeof ok - 1) < 0) return 3;",
        "    return 0;",
        "}",
    ]
    return "\n".join(out) + "\n"


C = CFamily("c", "GCC", ".c", "gcc", "-std=gnu17")
CPP = CFamily("cpp", "G++", ".cpp", "g++", "-std=gnu++17")
