"""Go with the ``go`` tool (GOPATH mode, standard library only, cgo off).

Tests: ``stdio`` runs ``go build`` output (``package main`` with ``func main``). ``assert``
tests are the body of a Go test function: the statements run with ``t *testing.T`` in scope
(``t.Errorf``/``t.Fatalf`` fail the test; ``reflect`` and ``fmt`` are imported), in a file of the
candidate's own package built with ``go test -c``; the binary runs one test per run
(``-test.run ^TestCrucibleN$``). A test reported ``--- FAIL`` without a panic is a failed test;
a panic is a runtime error at the deepest frame of the goroutine trace that lies in the
candidate's file.

Coverage: Go 1.19 has no ``go build -cover``; ``go tool cover``, a source rewriter, gives the
block counters instead. A request that asks for coverage is first built exactly as without it,
so a compile error reads the same; then, in the same compile jail, ``cover -mode=set``
instruments the candidate (keeping its line numbers), ``sed`` defers a dump at the top of
``main``'s body (matched together with the counter ``cover`` put there, so never in a comment or
a string), and both programs are built again with ``-overlay`` swapping in the instrumented
candidate and assert tests that defer the dump on their header line, so traces name the same
files and lines. The dump runs however ``main`` or an assert test ends (return, ``t.Fatal``,
panic: a deferred call that does not recover lets the panic and its trace go on) and writes the
line range of every block holding statements, and whether it ran; ``os.Exit``, a panic in
another goroutine and fatal runtime errors end the program without it. A line could have run
when such a block spans it and it holds code other than comments and closing braces, and it
executed when a block that ran spans it. A block counts once entered, so a panic in the middle
of one counts the rest of that block too.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from crucible.sandbox_service.engine.languages import base
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

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_]\w*)", re.M)
_DIAGNOSTIC = re.compile(
    r"^(?:\./)?(?P<file>[^\s:]+\.go):(?P<line>\d+)(?::\d+)?: (?P<message>.*)$", re.M
)
_PANIC = re.compile(r"^panic: (?P<message>.*?)(?: \[recovered\])?$", re.M)
_FATAL = re.compile(r"^fatal error: (?P<message>.*)$", re.M)
_FRAME = re.compile(r"^(?P<function>\S[^\n]*)\n\t(?P<file>\S+\.go):(?P<line>\d+)", re.M)
_FAILED = re.compile(r"^--- FAIL: TestCrucible\d+", re.M)
_LOG = re.compile(r"^\s+(?P<file>\S+\.go):(?P<line>\d+): (?P<message>.*)$", re.M)
_COVERAGE_ENV = "CRUCIBLE_GO_COVERAGE"
_DUMP = "crucibleCoverageDump"
# Files of instrumented builds; the overlay makes the go tool read the covered versions in
# place of solution.go and crucible_test.go.
_COVERED_SOURCE = "solution_covered.go"
_COVERED_TESTS = "crucible_covered_test.go"
_DUMP_SOURCE = "crucible_coverage.go"
_OVERLAY = "crucible_overlay.json"
# Go lexemes: comments (never code), literals (a raw string may span lines), other code but ``}``.
_LEXEME = re.compile(
    r"//[^\n]*|/\*.*?\*/"
    r'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`[^`]*`'
    r"|[^\s}/\"'`]+|[/\"'`]",
    re.S,
)


@cache
def _goroot() -> str | None:
    go = base.tool("go")
    if go is None:
        return None
    root = Path(go).parent.parent
    return str(root) if (root / "src" / "runtime").is_dir() else None


class Go(LanguageSpec):
    name = "go"
    title = "Go"
    suffix = ".go"

    def version(self) -> str | None:
        go = base.tool("go")
        if go is None or _goroot() is None:
            return None
        return f"{self.title} {base.first_version(base.tool_output(go, 'version'))}"

    def candidate_file(self, request: ExecuteRequest) -> str:
        return "solution.go"

    def _env(self, paths: Paths) -> dict[str, str]:
        root = _goroot()
        assert root is not None
        return {
            **base.base_env(paths),
            "GOROOT": root,
            "GOPATH": f"{paths.work}/go",
            "GOCACHE": f"{paths.work}/go-cache",
            "GO111MODULE": "off",
            "GOPROXY": "off",
            "GOFLAGS": "",
            "CGO_ENABLED": "0",
        }

    def executed_lines(self) -> bool:
        return base.tool("sed") is not None

    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        go = base.tool("go")
        assert go is not None
        source, _ = base.candidate_source(request)
        found = _PACKAGE.search(source)
        package = found.group(1) if found else "main"
        kinds: set[str] = {test.body.kind for test in request.tests}
        files = {"solution.go": source}
        if "assert" in kinds:
            files["crucible_test.go"] = _tests_file(package, request, dump=False)
        steps = self._builds(go, kinds, paths, covered=False)
        if coverage:
            counters = _counters(source)
            files |= _coverage_files(package, request, kinds, counters)
            steps += self._instrument(go, paths, counters)
            steps += self._builds(go, kinds, paths, covered=True)
        return BuildPlan(files=files, steps=steps)

    def _builds(self, go: str, kinds: set[str], paths: Paths, *, covered: bool) -> list[Command]:
        """``prog`` for stdio tests and ``tests`` for assert tests; ``covered`` builds read the
        instrumented files in place of the plain ones (``-overlay``), so traces still name
        ``solution.go`` and ``crucible_test.go`` at the same lines."""
        env = self._env(paths)
        overlay = ["-overlay", _OVERLAY] if covered else []
        sources = ["solution.go", _DUMP_SOURCE] if covered else ["solution.go"]
        steps = []
        if "stdio" in kinds:
            argv = [go, "build", *overlay, "-o", "prog", *sources]
            steps.append(Command(argv, env, paths.build))
        if "assert" in kinds:
            argv = [go, "test", "-c", "-vet=off", *overlay, "-o", "tests", *sources]
            steps.append(Command([*argv, "crucible_test.go"], env, paths.build))
        return steps

    def _instrument(self, go: str, paths: Paths, counters: str) -> list[Command]:
        """The steps that write the instrumented candidate with its dump deferred in ``main``:
        ``sed`` matches ``main``'s header together with the counter ``cover`` puts right after
        its brace, which no text of the candidate can imitate (see :func:`_counters`)."""
        sed = base.tool("sed")
        assert sed is not None
        env = self._env(paths)
        cover = [go, "tool", "cover", "-mode=set", f"-var={counters}"]
        cover += ["-o", _COVERED_SOURCE, "solution.go"]
        space = "[[:space:]]*"
        header = rf"^({space}func[[:space:]]+main{space}\({space}\){space}\{{)"
        defer = rf"s/{header}({counters}\.Count\[)/\1defer {_DUMP}();\2/"
        return [
            Command(cover, env, paths.build),
            Command([sed, "-E", "-i", defer, _COVERED_SOURCE], env, paths.build),
        ]

    def command(
        self,
        test: TestCase,
        index: int,
        paths: Paths,
        limits: ResolvedLimits,
        smap: SourceMap,
        coverage: bool,
    ) -> tuple[Command, str]:
        env = {**base.base_env(paths), "GOTRACEBACK": "single"}
        collect = ""
        if coverage:
            collect = env[_COVERAGE_ENV] = f"{paths.work}/{base.COVERAGE_DIR}"
        if isinstance(test.body, StdioTest):
            argv, stdin = [f"{paths.build}/prog"], test.body.stdin
        else:
            argv, stdin = [f"{paths.build}/tests", "-test.run", f"^TestCrucible{index}$"], ""
        return Command(argv, env, paths.work, collect=collect), stdin

    def executable_lines(self) -> bool:
        return self.executed_lines()

    def coverage_lines(self, record: dict[str, Any], smap: SourceMap, text: str) -> LineCoverage:
        rows = _block_rows(str((record.get("collected") or {}).get("blocks", "")))
        last, code = text.count("\n") + 1, _code_lines(text)

        def candidate(lines: set[int]) -> set[int]:
            return {
                mapped
                for line in lines & code
                if (mapped := smap.to_candidate(smap.filename, line))
            }

        ran = [(start, end) for start, end, count in rows if count]
        return LineCoverage(
            executed=candidate(_block_lines(ran, last)),
            executable=candidate(_block_lines([(start, end) for start, end, _ in rows], last)),
        )

    def compile_error(self, output: str, smap: SourceMap) -> ErrorInfo:
        found = _DIAGNOSTIC.search(output)
        if found is not None:
            message = found["message"]
            return self.compile_info(
                smap, found["file"], int(found["line"]), message, "CompileError"
            )
        lines = [line for line in output.splitlines() if line.strip() and not line.startswith("#")]
        return self.compile_info(
            smap, "", 0, lines[0] if lines else "go build failed", "CompileError"
        )

    def failure(self, record: dict[str, Any], test: TestCase, smap: SourceMap) -> Failure | None:
        stderr = str(record.get("stderr", "")) + "\n" + str(record.get("stdout", ""))
        frames = [
            (found["file"], int(found["line"]), found["function"].split("(")[0])
            for found in _FRAME.finditer(stderr)
        ]
        line = base.deepest_candidate_line(frames, smap)
        traceback = base.frames_text(frames, smap)
        fatal = _FATAL.search(stderr)
        if fatal is not None:
            message = fatal["message"]
            if "stack overflow" in message:
                text = "stack overflow (infinite or too deep recursion)"
                return Failure(Status.RUNTIME_ERROR, "StackOverflow", text, line, traceback)
            if "out of memory" in message:
                return Failure(
                    Status.MEMORY_LIMIT_EXCEEDED, "OutOfMemory", message, 0, "", Subtype.GLOBAL
                )
            return Failure(Status.RUNTIME_ERROR, "FatalError", message, line, traceback)
        panic = _PANIC.search(stderr)
        if panic is not None:
            message = panic["message"]
            error_type = "runtime.Error" if message.startswith("runtime error: ") else "panic"
            return Failure(Status.RUNTIME_ERROR, error_type, message, line, traceback)
        if _FAILED.search(stderr):
            logs = [found["message"] for found in _LOG.finditer(stderr)]
            message = "; ".join(logs) or "the test failed"
            return Failure(Status.WRONG_ANSWER, "TestFailed", message, 0, "", Subtype.IGNORE)
        return None


def _tests_file(package: str, request: ExecuteRequest, *, dump: bool) -> str:
    """The assert tests as Go test functions; with ``dump``, each writes the coverage counters
    however it ends (return, ``t.Fatal``, panic)."""
    marker = OK_RECORD.replace('"', '\\"')
    defer = f" defer {_DUMP}()" if dump else ""
    out = [
        f"package {package}",
        "",
        "import (",
        '\t"fmt"',
        '\t"reflect"',
        '\tcrucibleos "os"',
        '\tcrucibletesting "testing"',
        ")",
        "",
        "var _ = fmt.Sprint",
        "var _ = reflect.DeepEqual",
        "",
        "func crucibleDone(t *crucibletesting.T) {",
        "\tif !t.Failed() {",
        f'\t\t_, _ = crucibleos.NewFile(3, "result").Write([]byte("{marker}\\n"))',
        "\t}",
        "}",
    ]
    for index, test in enumerate(request.tests):
        if isinstance(test.body, AssertTest):
            out += [
                "",
                # The defer shares the header's line: trace lines stay as without it.
                f"func TestCrucible{index}(t *crucibletesting.T) {{{defer}",
                "\tfunc() {",
                test.body.code,
                "\t}()",
                "\tcrucibleDone(t)",
                "}",
            ]
    return "\n".join(out) + "\n"


def _counters(source: str) -> str:
    """The counters' variable, named after the source's hash: the candidate's file cannot
    contain its own hash, so the name appears only where ``go tool cover`` wrote it."""
    return f"crucibleCoverage{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def _coverage_files(
    package: str, request: ExecuteRequest, kinds: set[str], counters: str
) -> dict[str, str]:
    """The generated files of the covered builds: the dump, the assert tests that defer it,
    and the overlay that swaps the covered files in."""
    files = {_DUMP_SOURCE: _dump_file(package, counters)}
    replace = {"solution.go": _COVERED_SOURCE}
    if "assert" in kinds:
        files[_COVERED_TESTS] = _tests_file(package, request, dump=True)
        replace["crucible_test.go"] = _COVERED_TESTS
    files[_OVERLAY] = json.dumps({"Replace": replace})
    return files


def _dump_file(package: str, counters: str) -> str:
    """The function that writes ``start end ran`` (lines, and 1 or 0) of every block that
    holds statements to ``$CRUCIBLE_GO_COVERAGE/blocks``. Imports are aliased: the file shares
    the candidate's package, whose own names must not clash with them."""
    return f"""package {package}

import (
\tcrucibleos "os"
\tcruciblestrconv "strconv"
)

func {_DUMP}() {{
\tdirectory := crucibleos.Getenv("{_COVERAGE_ENV}")
\tif directory == "" || crucibleos.MkdirAll(directory, 0o700) != nil {{
\t\treturn
\t}}
\tvar rows []byte
\tfor block, count := range {counters}.Count {{
\t\tif {counters}.NumStmt[block] == 0 {{
\t\t\tcontinue
\t\t}}
\t\tran := byte('0')
\t\tif count != 0 {{
\t\t\tran = '1'
\t\t}}
\t\trows = cruciblestrconv.AppendUint(rows, uint64({counters}.Pos[3*block]), 10)
\t\trows = append(rows, ' ')
\t\trows = cruciblestrconv.AppendUint(rows, uint64({counters}.Pos[3*block+1]), 10)
\t\trows = append(rows, ' ', ran, '\\n')
\t}}
\t_ = crucibleos.WriteFile(directory+"/blocks", rows, 0o600)
}}
"""


def _block_rows(report: str) -> list[tuple[int, int, int]]:
    """The dump's ``start end ran`` rows. The program could write anything there, so rows are
    parsed defensively (a malformed one is skipped)."""
    rows: list[tuple[int, int, int]] = []
    for row in report.splitlines():
        try:
            start, end, ran = (int(value) for value in row.split())
        except ValueError:
            continue
        rows.append((start, end, ran))
    return rows


def _block_lines(rows: list[tuple[int, int]], last: int) -> set[int]:
    """Lines 1..``last`` spanned by ``(start, end)`` rows, clamped to the file and summed as a
    difference array (linear however many rows a program forges)."""
    edges = [0] * (last + 2)
    for start, end in rows:
        start, end = max(start, 1), min(end, last)
        if start <= end:
            edges[start] += 1
            edges[end + 1] -= 1
    lines: set[int] = set()
    depth = 0
    for line in range(1, last + 1):
        depth += edges[line]
        if depth:
            lines.add(line)
    return lines


@lru_cache(maxsize=8)
def _code_lines(text: str) -> frozenset[int]:
    """Lines of ``text`` holding code other than comments and closing braces: blocks span
    blank and comment lines, and whether they end before or after a ``}`` depends only on
    where ``go tool cover`` cuts them. Cached: every test of a request asks for the same
    source."""
    newlines = [found.start() for found in re.finditer("\n", text)]
    lines: set[int] = set()
    for found in _LEXEME.finditer(text):
        if not found.group().startswith(("//", "/*")):
            first = bisect_left(newlines, found.start()) + 1
            lines.update(range(first, bisect_left(newlines, found.end() - 1) + 2))
    return frozenset(lines)


GO = Go()
