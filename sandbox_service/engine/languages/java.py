"""Java with OpenJDK: ``javac`` in the compile jail, a small launcher in the run jail.

The candidate's file is named after its public top-level type (``Main.java`` for ``public class
Main``), else ``Solution.java``. ``runtime/CrucibleLauncher.java`` is compiled with it and runs
either the program's ``main`` (stdio tests: the class declaring ``public static void main``,
the public class preferred) or one method of the generated ``CrucibleTests`` class (assert
tests: the test's statements are the method's body, run with ``-ea`` so Java's ``assert``
works). It reports exceptions on the result pipe with their class, message and the frames of
classpath code; an ``AssertionError`` thrown by the test's own statements is a failed test.

Memory: the JVM gets ``-Xmx`` of the memory limit less 64 MiB (at least half of it), so a
memory bomb ends in ``OutOfMemoryError`` (MEMORY_LIMIT_EXCEEDED); the rest of the limit and the
supervisor's share cover metaspace, code cache and thread stacks. Serial GC, C1 only and one
active processor keep the thread count (the pids limit counts threads) and start-up low.

Coverage: JaCoCo's offline instrumentation with Debian's ``libjacoco-java`` (0.8.6, built on
Debian's ASM 9.4, which reads Java 17 class files). Requests that ask for it get two more
compile steps: ``runtime/CrucibleCoverage.java`` is compiled against JaCoCo (never on the
candidate's class path, so the candidate's compile errors are unchanged) and instruments the
classes compiled from the candidate's file, keeping the originals. Probes come from the
launcher, so the test runs with no JaCoCo code; it writes them at JVM shutdown, and
``CrucibleCoverage report`` analyses them with JaCoCo in the run jail after the test, outside
the test's limits. A line could have run when it holds instructions, and counts as executed
when one of them is covered. JaCoCo
places its probes at branches, exits and before each line with a method call, so the line an
exception was raised on (unless by ``throw``) and the calls it unwound through do not count.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from crucible.sandbox_service.engine.languages import base
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
    ErrorInfo,
    ExecuteRequest,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
    TestCase,
)

TESTS_CLASS = "CrucibleTests"
_PUBLIC_TYPE = re.compile(
    r"^\s*public\s+(?:(?:final|abstract|sealed|strictfp|non-sealed)\s+)*"
    r"(?:class|interface|enum|record)\s+([A-Za-z_$][\w$]*)",
    re.M,
)
_DIAGNOSTIC = re.compile(r"^(?P<file>[^\n:]+\.java):(?P<line>\d+): error: (?P<message>.*)$", re.M)
_SYMBOL = re.compile(r"^\s*symbol:\s+(?P<symbol>.*)$", re.M)
_OOM = re.compile(r"java\.lang\.OutOfMemoryError(?::\s*(?P<message>.*))?")
_JVM_FLAGS = [
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:ActiveProcessorCount=1",
    "-XX:-UsePerfData",
    "-Xshare:auto",
]
_HEAP_RESERVE_BYTES = 64 << 20
# Debian's JaCoCo and the ASM it is built on; CrucibleCoverage's output and the originals of
# the classes it instrumented, in the build; the probes file in the run jail's scratch space.
_JACOCO_JARS = ("org.jacoco.core.jar", "asm.jar", "asm-commons.jar", "asm-tree.jar")
COVERAGE_TOOL = "coverage-tool"
ORIGINALS = "original-classes"
PROBES_FILE = ".crucible-coverage/probes"
# The coverage report's JVM: a few small classes to analyse.
_REPORT_HEAP = "-Xmx64m"


@cache
def _java_home() -> Path | None:
    javac = base.tool("javac")
    if javac is None:
        return None
    home = Path(javac).parent.parent
    return home if (home / "bin" / "java").exists() else None


@cache
def _jacoco_classpath() -> str | None:
    """The class path of JaCoCo's core (with ASM) as jails see it, or None when missing."""
    jars = [(Path("/usr/share/java") / name).resolve() for name in _JACOCO_JARS]
    if not all(jar.is_file() and str(jar).startswith("/usr/") for jar in jars):
        return None
    return ":".join(str(jar) for jar in jars)


class Java(LanguageSpec):
    name = "java"
    title = "OpenJDK"
    suffix = ".java"

    def version(self) -> str | None:
        home = _java_home()
        if home is None:
            return None
        release = home / "release"  # JAVA_VERSION="17.0.15": no JVM start-up to ask
        text = release.read_text() if release.exists() else ""
        found = re.search(r'^JAVA_VERSION="([^"]+)"', text, re.M)
        return f"{self.title} {found.group(1) if found else 'unknown'}"

    def extra_binds(self) -> list[tuple[str, str]]:
        """The JDK's conf/ links into /etc (security policy files): bind their directories."""
        home = _java_home()
        if home is None:
            return []
        targets = set()
        for link in (home / "conf").rglob("*"):
            if link.is_symlink():
                resolved = link.resolve()
                if resolved.parts[:2] == ("/", "etc") and len(resolved.parts) > 2:
                    targets.add(str(Path(*resolved.parts[:3])))
        return [(target, target) for target in sorted(targets)]

    def candidate_file(self, request: ExecuteRequest) -> str:
        source, _ = base.candidate_source(request)
        found = _PUBLIC_TYPE.search(source)
        name = found.group(1) if found else "Solution"
        return f"{name}.java"

    def _env(self, paths: Paths) -> dict[str, str]:
        home = _java_home()
        assert home is not None
        # Without /proc the launcher cannot find libjli.so through its own path.
        return {**base.base_env(paths), "LD_LIBRARY_PATH": str(home / "lib"), "LC_ALL": "C"}

    def executed_lines(self) -> bool:
        return _java_home() is not None and _jacoco_classpath() is not None

    def plan(self, request: ExecuteRequest, paths: Paths, coverage: bool) -> BuildPlan:
        source, _ = base.candidate_source(request)
        candidate = self.candidate_file(request)
        files = {candidate: source}
        sources = [candidate, f"{paths.runtime}/CrucibleLauncher.java"]
        if any(isinstance(test.body, AssertTest) for test in request.tests):
            files[f"{TESTS_CLASS}.java"] = _tests_class(request.tests)
            sources.insert(1, f"{TESTS_CLASS}.java")
        env = self._env(paths)
        steps = [Command([*_javac(), "-d", "classes", *sources], env, paths.build)]
        if coverage:
            steps += _instrument_steps(paths, candidate, env)
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
        home = _java_home()
        assert home is not None
        limit = limits.memory_limit_bytes
        heap_mib = max(limit - _HEAP_RESERVE_BYTES, limit // 2) >> 20
        classes = f"{paths.build}/classes"
        # A deep recursion costs the JVM about three times its -Xss in resident memory.
        stack_kib = min(base.stack_limit(limits), limits.memory_limit_bytes // 16) >> 10
        argv = [str(home / "bin" / "java"), *_JVM_FLAGS, f"-Xmx{heap_mib}m", f"-Xss{stack_kib}k"]
        argv.append("-ea")
        argv += ["--add-opens", "java.base/java.io=ALL-UNNAMED", f"-Djava.io.tmpdir={paths.work}"]
        post: list[list[str]] = []
        if coverage:
            probes = f"{paths.work}/{PROBES_FILE}"
            argv.append(f"-Dcrucible.coverage={probes}")
            post.append(_report_step(paths, probes, smap.filename))
        argv += ["-cp", classes, "CrucibleLauncher"]
        if isinstance(test.body, StdioTest):
            argv += ["stdio", classes, PurePosixPath(smap.filename).stem]
            stdin = test.body.stdin
        else:
            argv += ["test", str(index)]
            stdin = ""
        return Command(argv, self._env(paths), paths.work, post=post), stdin

    def executable_lines(self) -> bool:
        return self.executed_lines()

    def coverage_lines(self, record: dict[str, Any], smap: SourceMap, text: str) -> LineCoverage:
        """``CrucibleCoverage report`` prints ``LINE RAN`` for every line holding
        instructions (RAN: 1 when one of them was covered)."""
        coverage = LineCoverage(executed=set())
        post = record.get("post") or [""]
        for row in str(post[0]).splitlines():
            fields = row.split()
            if len(fields) != 2 or not fields[0].isdigit():
                continue
            mapped = smap.to_candidate(smap.filename, int(fields[0]))
            if mapped:
                coverage.executable.add(mapped)
                if fields[1] == "1":
                    coverage.executed.add(mapped)
        return coverage

    def compile_error(self, output: str, smap: SourceMap) -> ErrorInfo:
        found = _DIAGNOSTIC.search(output)
        if found is None:
            first = next((line for line in output.splitlines() if line.strip()), "javac failed")
            return self.compile_info(smap, "", 0, first, "CompileError")
        message = found["message"]
        symbol = _SYMBOL.search(output, found.end())
        if symbol is not None and message.startswith("cannot find symbol"):
            message = f"{message} ({symbol['symbol'].strip()})"
        return self.compile_info(smap, found["file"], int(found["line"]), message, "CompileError")

    def failure(self, record: dict[str, Any], test: TestCase, smap: SourceMap) -> Failure | None:
        reported = base.result_record(record)
        if reported is None or reported.get("outcome") != "exception":
            memory = _OOM.search(str(record.get("stderr", "")))
            if memory is not None and int(record.get("exit_code", 0)) != 0:
                message = memory["message"] or "Java heap space"
                return Failure(
                    Status.MEMORY_LIMIT_EXCEEDED, "OutOfMemoryError", message, 0, "", Subtype.GLOBAL
                )
            return None
        full_type = str(reported.get("type", "Throwable"))
        short_type = full_type.rsplit(".", 1)[-1]
        message = str(reported.get("message") or "")
        frames = [
            (str(file or ""), int(line), str(method))
            for file, line, method in reported.get("frames", [])
        ]
        line = base.deepest_candidate_line(frames, smap)
        traceback = f"{full_type}: {message}\n{base.frames_text(frames, smap)}"
        if short_type == "OutOfMemoryError":
            return Failure(
                Status.MEMORY_LIMIT_EXCEEDED, short_type, message, line, traceback, Subtype.GLOBAL
            )
        in_test = bool(frames) and frames[0][0] == f"{TESTS_CLASS}.java"
        if full_type == "java.lang.AssertionError" and in_test:
            return Failure(Status.WRONG_ANSWER, short_type, message, 0, traceback, Subtype.IGNORE)
        return Failure(Status.RUNTIME_ERROR, short_type, message, line, traceback)


def _javac() -> list[str]:
    """javac with the JVM flags of every Java command and room for its own heap."""
    home = _java_home()
    assert home is not None
    argv = [str(home / "bin" / "javac"), *(f"-J{flag}" for flag in _JVM_FLAGS)]
    return [*argv, "-J-Xmx512m", "-encoding", "UTF-8", "-nowarn"]


def _instrument_steps(paths: Paths, candidate: str, env: dict[str, str]) -> list[Command]:
    """Compile CrucibleCoverage against JaCoCo, then instrument the candidate's classes."""
    home, jacoco = _java_home(), _jacoco_classpath()
    assert home is not None and jacoco is not None
    tool = f"{paths.runtime}/CrucibleCoverage.java"
    compile_tool = [*_javac(), "-cp", jacoco, "-d", COVERAGE_TOOL, tool]
    instrument = [str(home / "bin" / "java"), *_JVM_FLAGS, "-Xmx512m"]
    instrument += ["-cp", f"{COVERAGE_TOOL}:{jacoco}", "CrucibleCoverage"]
    instrument += ["instrument", "classes", ORIGINALS, candidate]
    return [Command(compile_tool, env, paths.build), Command(instrument, env, paths.build)]


def _report_step(paths: Paths, probes: str, candidate: str) -> list[str]:
    """The post step that prints the candidate's executed lines from a test's probes."""
    home, jacoco = _java_home(), _jacoco_classpath()
    assert home is not None and jacoco is not None
    argv = [str(home / "bin" / "java"), *_JVM_FLAGS, _REPORT_HEAP]
    argv += ["-cp", f"{paths.build}/{COVERAGE_TOOL}:{jacoco}", "CrucibleCoverage", "report"]
    return [*argv, f"{paths.build}/{ORIGINALS}", probes, candidate]


def _tests_class(tests: list[TestCase]) -> str:
    out = ["import java.util.*;", "", f"final class {TESTS_CLASS} {{"]
    out.append(f"    private {TESTS_CLASS}() {{}}")
    for index, test in enumerate(tests):
        if isinstance(test.body, AssertTest):
            out += [f"    static void test{index}() throws Throwable {{", test.body.code, "    }"]
    out.append("}")
    return "\n".join(out) + "\n"


JAVA = Java()
