"""JavaScript on Node.js: a syntax check as the compile step, V8 stack traces for errors.

Stdio tests run ``node solution.js`` (CommonJS, as a judge would), with ``runtime/node_fault.js``
preloaded to report uncaught errors, also asynchronous ones, on the result pipe. Assert and call
tests run ``runtime/node_driver.js``: the candidate and the test code run as scripts in one
global scope, with ``assert`` (``node:assert``) and ``require`` defined; a call test's function
is looked up by name (``Class.method`` instantiates the class without arguments), awaited if it
returns a promise, and its value is sent back as JSON for the trusted side to compare. An
``AssertionError`` raised by the test code's own line is a failed test.

The compile step parses every file as a script (``runtime/node_check.js``), so ES-module syntax
(``import``) is a compile error: use ``require``. ``--max-old-space-size`` is the memory limit
less 64 MiB, so a heap bomb ends in V8's "JavaScript heap out of memory".

Coverage: ``NODE_V8_COVERAGE`` makes Node write V8's block coverage at exit; the executed lines
are computed from it by :mod:`v8_coverage`.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from crucible.sandbox_service.engine.languages import base, v8_coverage
from crucible.sandbox_service.engine.languages.base import (
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
    CallTest,
    ErrorInfo,
    ExecuteRequest,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
    TestCase,
)

_HEAP_OOM = re.compile(r"JavaScript heap out of memory|Allocation failed")
_TEST_FILE = re.compile(r"^test_\d+\.js$")
_HEAP_RESERVE_BYTES = 64 << 20


class JavaScript(LanguageSpec):
    name = "javascript"
    title = "Node.js"
    suffix = ".js"
    call_tests = True

    def version(self) -> str | None:
        node = base.tool("node")
        if node is None:
            return None
        return f"{self.title} {base.first_version(base.tool_output(node, '--version'))}"

    def candidate_file(self, request: ExecuteRequest) -> str:
        return "solution.js"

    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        node = base.tool("node")
        assert node is not None
        source, _ = base.candidate_source(request)
        files = {"solution.js": source}
        for index, test in enumerate(request.tests):
            if isinstance(test.body, AssertTest):
                files[f"test_{index}.js"] = test.body.code
        argv = [node, f"{paths.runtime}/node_check.js", *files]
        return BuildPlan(files=files, steps=[Command(argv, base.base_env(paths), paths.build)])

    def command(
        self,
        test: TestCase,
        index: int,
        paths: Paths,
        limits: ResolvedLimits,
        smap: SourceMap,
        coverage: bool,
    ) -> tuple[Command, str]:
        node = base.tool("node")
        assert node is not None
        limit = limits.memory_limit_bytes
        heap_mib = max(limit - _HEAP_RESERVE_BYTES, limit // 2) >> 20
        argv = [node, f"--max-old-space-size={heap_mib}"]
        env = base.base_env(paths)
        collect = ""
        if coverage:
            collect = env["NODE_V8_COVERAGE"] = f"{paths.work}/{base.COVERAGE_DIR}"
        solution = f"{paths.build}/solution.js"
        body = test.body
        if isinstance(body, StdioTest):
            argv += ["-r", f"{paths.runtime}/node_fault.js", solution]
            stdin = body.stdin
        else:
            argv.append(f"{paths.runtime}/node_driver.js")
            job: dict[str, str] = {"solution": solution}
            if isinstance(body, CallTest):
                job |= {"kind": "call", "function": body.function_name, "args_json": body.args_json}
            else:
                job |= {"kind": "assert", "test": f"{paths.build}/test_{index}.js"}
            stdin = json.dumps(job)
        return Command(argv, env, paths.work, collect=collect), stdin

    def executed_lines(self) -> bool:
        return True

    def coverage_lines(self, record: dict[str, Any], smap: SourceMap, text: str) -> LineCoverage:
        """Executed lines only: V8 counts ranges of characters, not statements, so it cannot
        say which lines could have run (Capabilities.executable_lines is false)."""
        functions = v8_coverage.script_functions(record.get("collected") or {}, smap.filename)
        lines = v8_coverage.executed_lines(text, functions)
        mapped = {smap.to_candidate(smap.filename, line) for line in lines}
        return LineCoverage(executed=mapped - {0})

    def compile_error(self, output: str, smap: SourceMap) -> ErrorInfo:
        for line in output.splitlines():
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                return self.compile_info(
                    smap,
                    str(found.get("file", "")),
                    int(found.get("line", 0)),
                    str(found.get("message", "")),
                    str(found.get("type", "SyntaxError")),
                )
        first = next((line for line in output.splitlines() if line.strip()), "node failed")
        return self.compile_info(smap, "", 0, first, "SyntaxError")

    def failure(self, record: dict[str, Any], test: TestCase, smap: SourceMap) -> Failure | None:
        reported = base.result_record(record)
        if reported is None or reported.get("outcome") != "exception":
            if _HEAP_OOM.search(str(record.get("stderr", ""))):
                message = "JavaScript heap out of memory"
                return Failure(
                    Status.MEMORY_LIMIT_EXCEEDED, "HeapOutOfMemory", message, 0, "", Subtype.GLOBAL
                )
            return None
        error_type = str(reported.get("type", "Error"))
        message = str(reported.get("message", ""))
        frames = [
            (str(file), int(line), str(function))
            for file, line, function in reported.get("frames", [])
        ]
        line = base.deepest_candidate_line(frames, smap)
        traceback = f"{error_type}: {message}\n{base.frames_text(frames, smap)}"
        in_test = bool(frames) and _TEST_FILE.match(PurePosixPath(frames[0][0]).name) is not None
        if error_type == "AssertionError" and in_test:
            return Failure(Status.WRONG_ANSWER, error_type, message, 0, traceback, Subtype.IGNORE)
        return Failure(Status.RUNTIME_ERROR, error_type, message, line, traceback)


JAVASCRIPT = JavaScript()
