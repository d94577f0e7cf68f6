"""Go with the ``go`` tool (GOPATH mode, standard library only, cgo off).

Tests: ``stdio`` runs ``go build`` output (``package main`` with ``func main``). ``assert``
tests are the body of a Go test function: the statements run with ``t *testing.T`` in scope
(``t.Errorf``/``t.Fatalf`` fail the test; ``reflect`` and ``fmt`` are imported), in a file of the
candidate's own package built with ``go test -c``; the binary runs one test per run
(``-test.run ^TestCrucibleN$``). A test reported ``--- FAIL`` without a panic is a failed test;
a panic is a runtime error at the deepest frame of the goroutine trace that lies in the
candidate's file.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from sandbox_service.engine.languages import base
from sandbox_service.engine.languages.base import (
    OK_RECORD,
    BuildPlan,
    Command,
    Failure,
    LanguageSpec,
    Paths,
    SourceMap,
)
from sandbox_service.models import (
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

    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        go = base.tool("go")
        assert go is not None
        source, _ = base.candidate_source(request)
        files = {"solution.go": source}
        env = self._env(paths)
        steps = []
        kinds = {test.body.kind for test in request.tests}
        if "stdio" in kinds:
            steps.append(Command([go, "build", "-o", "prog", "solution.go"], env, paths.build))
        if "assert" in kinds:
            found = _PACKAGE.search(source)
            files["crucible_test.go"] = _tests_file(found.group(1) if found else "main", request)
            argv = [go, "test", "-c", "-vet=off", "-o", "tests", "solution.go", "crucible_test.go"]
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
        env = {**base.base_env(paths), "GOTRACEBACK": "single"}
        if isinstance(test.body, StdioTest):
            return Command([f"{paths.build}/prog"], env, paths.work), test.body.stdin
        argv = [f"{paths.build}/tests", "-test.run", f"^TestCrucible{index}$"]
        return Command(argv, env, paths.work), ""

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


def _tests_file(package: str, request: ExecuteRequest) -> str:
    marker = OK_RECORD.replace('"', '\\"')
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
                f"func TestCrucible{index}(t *crucibletesting.T) {{",
                "\tfunc() {",
                test.body.code,
                "\t}()",
                "\tcrucibleDone(t)",
                "}",
            ]
    return "\n".join(out) + "\n"


GO = Go()
