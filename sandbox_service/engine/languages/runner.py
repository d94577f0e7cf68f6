"""The shared runner of every non-Python language: compile once in a jail, run each test in one.

A request goes through two jails, each a fresh nsjail with the supervisor
(``engine/runtime/native_harness.py``, beside the Python harness) as pid 1:

1. the **compile jail** (skipped when the artifact cache has the build): the build directory is
   the only writable host path; the compiler gets its own limits (CPU, wall, memory, pids), and
   its failure is the request's COMPILE_ERROR with the compiler's first error;
2. the **run jail**: the sealed artifact read-only at ``/build``, a tmpfs at ``/tmp`` that is
   wiped after every test, the request's limits per test.

Test results are decided here, on the trusted side, by the same rules as Python's: output,
time and memory limits first, then the language's own error report, then the test kind's
check (``checkers`` for stdio and call tests, the driver's completion marker for assert tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crucible.sandbox_service.engine import checkers
from crucible.sandbox_service.engine import python_runner as py
from crucible.sandbox_service.engine.harness_process import HarnessCrashed, HarnessProcess
from crucible.sandbox_service.engine.jail import (
    HARNESS_MEMORY_BYTES,
    PIDS_MAX,
    TMPFS_BYTES,
    JailSpec,
    nsjail_argv,
)
from crucible.sandbox_service.engine.languages.artifacts import ArtifactCache, discard
from crucible.sandbox_service.engine.languages.base import (
    JAIL_BUILD,
    JAIL_RUNTIME,
    JAIL_WORK,
    RUNTIME_DIR,
    STACK_BYTES,
    Command,
    LanguageSpec,
    Paths,
    SourceMap,
    candidate_source,
    result_record,
    signal_name,
    source_map,
    stack_limit,
)
from crucible.sandbox_service.engine.languages.registry import all_languages
from crucible.sandbox_service.engine.limits import OOM_SHARE, limit_exceeded
from crucible.sandbox_service.engine.verdict import (
    LineCoverage,
    build_response,
    uniform_results,
)
from crucible.sandbox_service.models import (
    CallTest,
    ErrorInfo,
    ExecuteRequest,
    ExecuteResponse,
    IsolationMode,
    Language,
    ProgramRun,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
    TestCase,
    TestResult,
)


@dataclass(frozen=True)
class CompileLimits:
    """The compile step's own limits (the proto: "set by the server", so no request changes
    them). javac and the Go toolchain start many threads and map large heaps; rustc needs /proc
    (see jail.JailSpec.mount_proc). The hostile compile corpus runs its compile-time bombs under
    smaller ones, so that each is stopped in seconds."""

    cpu_ms: float = 30_000.0
    wall_ms: float = 60_000.0
    memory_bytes: int = 1536 << 20
    pids: int = 256
    tmpfs_bytes: int = 256 << 20
    output_bytes: int = 1 << 20


# Open files of every command: enough for a JVM.
NOFILE = 1024
_ISOLATION = {"strict": IsolationMode.STRICT, "pooled": IsolationMode.STRICT}


def _system_binds() -> list[tuple[str, str]]:
    binds = [(path, path) for path in ("/usr", "/lib", "/lib64", "/bin") if Path(path).exists()]
    runtime = py.python_runtime()
    if not runtime.prefix.startswith("/usr/"):
        binds.append((runtime.prefix, runtime.prefix))
    binds += [(str(RUNTIME_DIR), JAIL_RUNTIME), (runtime.harness_dir, py.JAIL_HARNESS_DIR)]
    binds += [(dev, dev) for dev in ("/dev/null", "/dev/urandom", "/dev/zero")]
    return binds


def _truncate(text: str) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= py.CAPTURE_BYTES:
        return text, False
    return data[: py.CAPTURE_BYTES].decode("utf-8", "ignore"), True


class NativeRunner:
    """Runs requests in the languages of :mod:`registry` whose toolchains are installed."""

    def __init__(
        self,
        isolation: str,
        cgroup_parent: str,
        cache: ArtifactCache | None = None,
        compile_limits: CompileLimits | None = None,
    ) -> None:
        self._isolation = isolation
        self._compile_limits = compile_limits or CompileLimits()
        self._cgroup_parent = cgroup_parent
        self._cache = cache or ArtifactCache()
        self._known = {spec.name: spec for spec in all_languages()}
        # Compile jails started (not served from the cache): for metrics and tests.
        self.compiles = 0

    @functools.cached_property
    def _specs(self) -> dict[str, LanguageSpec]:
        """The languages whose toolchains are installed (probed once, on first use)."""
        return {name: spec for name, spec in self._known.items() if spec.version() is not None}

    def languages(self) -> list[Language]:
        found = (spec.language() for spec in self._specs.values())
        return [language for language in found if language is not None]

    def runs(self, language: str) -> bool:
        return language in self._known and language in self._specs

    def check(self, request: ExecuteRequest) -> None:
        """Raise ``UnsupportedTest`` for tests the language does not offer."""
        self._specs[request.language].check_tests(request.tests)

    @property
    def _jailed(self) -> bool:
        return self._isolation != "none"

    async def execute(self, request: ExecuteRequest, limits: ResolvedLimits) -> ExecuteResponse:
        """Compile (or take from the cache), run every test, summarise. Sandbox failures
        become SANDBOX_ERROR verdicts; cancellation kills the jails."""
        spec = self._specs[request.language]
        started = time.monotonic()
        smap = source_map(request, spec.candidate_file(request))
        coverage = request.collect_coverage and spec.executed_lines()
        names = [test.name for test in request.tests]
        lines: LineCoverage | None = LineCoverage(executed=set()) if coverage else None
        try:
            artifact, compile_error = await self._build(spec, request, smap, coverage)
            if artifact is None:
                assert compile_error is not None
                results = uniform_results(
                    len(request.tests), Status.COMPILE_ERROR, compile_error, names
                )
                lines = None
            else:
                results = await self._run_tests(spec, request, limits, smap, artifact, lines)
        except HarnessCrashed as exc:
            error = ErrorInfo(type="SandboxError", message=str(exc), subtype=Subtype.IGNORE)
            results = uniform_results(len(request.tests), Status.SANDBOX_ERROR, error, names)
            lines = None
        return build_response(
            request_id=request.request_id,
            tests=results,
            coverage=lines,
            wall_time_ms=(time.monotonic() - started) * 1000.0,
            isolation=_ISOLATION.get(self._isolation, IsolationMode.NONE),
            limits=limits,
            runtime=spec.version() or "",
        )

    # ------------------------------------------------------------------------------- compile

    async def _build(
        self, spec: LanguageSpec, request: ExecuteRequest, smap: SourceMap, coverage: bool
    ) -> tuple[Path | None, ErrorInfo | None]:
        plan = spec.plan(request, Paths.jailed(), coverage)
        key = plan.cache_key(spec.name, spec.version() or "")
        failure: list[ErrorInfo] = []

        async def build() -> Path | None:
            scratch = self._cache.scratch(self._jailed)
            try:
                with self._work() as work:
                    paths = self._paths(scratch, work)
                    local = plan if self._jailed else spec.plan(request, paths, coverage)
                    for name, text in local.files.items():
                        (scratch / name).write_text(text, encoding="utf-8")
                    error = await self._compile(spec, local.steps, scratch, smap, work)
            except BaseException:
                discard(scratch)
                raise
            if error is not None:
                discard(scratch)
                failure.append(error)
                return None
            return self._cache.publish(key, scratch)

        artifact, _cached = await self._cache.get_or_build(key, build)
        return artifact, (failure[0] if failure else None)

    @contextlib.contextmanager
    def _work(self) -> Iterator[str]:
        """The scratch directory commands write to: the jail's tmpfs, or a fresh host one."""
        if self._jailed:
            yield JAIL_WORK
            return
        work = Path(tempfile.mkdtemp(prefix="crucible-work-"))
        try:
            yield str(work)
        finally:
            discard(work)

    def _paths(self, build: Path, work: str) -> Paths:
        if self._jailed:
            return Paths.jailed()
        return Paths(build=str(build), runtime=str(RUNTIME_DIR), work=work)

    async def _compile(
        self,
        spec: LanguageSpec,
        steps: list[Command],
        scratch: Path,
        smap: SourceMap,
        work: str,
    ) -> ErrorInfo | None:
        bounds = self._compile_limits
        runs = [
            self._run_entry(
                step,
                "",
                bounds.cpu_ms,
                bounds.wall_ms,
                bounds.output_bytes,
                bounds.tmpfs_bytes,
                STACK_BYTES,
            )
            for step in steps
        ]
        jail = JailSpec(
            command=self._supervisor_argv(),
            readonly_binds=_system_binds() + spec.extra_binds(),
            writable_binds=[(str(scratch), JAIL_BUILD)],
            memory_bytes=bounds.memory_bytes,
            wall_time_s=math.ceil(len(steps) * bounds.wall_ms / 1000.0) + 10,
            pids_max=bounds.pids,
            tmpfs_bytes=bounds.tmpfs_bytes,
            cwd=JAIL_BUILD,
            cgroup_parent=self._cgroup_parent,
            mount_proc=True,
        )
        error: ErrorInfo | None = None
        self.compiles += 1

        async def decide(record: dict[str, Any]) -> bool:
            nonlocal error
            error = self._compile_failure(spec, record, smap)
            return error is None

        await self._supervise(jail, runs, decide, ask=True, work=work)
        return error

    def _compile_failure(
        self, spec: LanguageSpec, record: dict[str, Any], smap: SourceMap
    ) -> ErrorInfo | None:
        bounds = self._compile_limits
        if record.get("killed_by") == "wall" or record.get("cpu_ms", 0.0) > bounds.cpu_ms:
            return ErrorInfo(
                type="CompileTimeLimitExceeded",
                message=f"the compiler exceeded its limit of {bounds.cpu_ms / 1000:g} s",
                subtype=Subtype.GLOBAL,
                test_index=-1,
            )
        if record.get("killed_by") == "output":
            return ErrorInfo(
                type="CompileOutputLimitExceeded",
                message=f"the compiler wrote more than {bounds.output_bytes} bytes of output",
                subtype=Subtype.GLOBAL,
                test_index=-1,
            )
        exit_code = int(record.get("exit_code", 0))
        if exit_code == -signal.SIGKILL and record.get("peak_memory_bytes", 0) >= (
            OOM_SHARE * bounds.memory_bytes
        ):
            return ErrorInfo(
                type="CompileMemoryLimitExceeded",
                message=f"the compiler exceeded its memory limit of "
                f"{bounds.memory_bytes >> 20} MiB",
                subtype=Subtype.GLOBAL,
                test_index=-1,
            )
        if exit_code != 0:
            output = f"{record.get('stderr', '')}\n{record.get('stdout', '')}"
            return spec.compile_error(output, smap)
        return None

    # ----------------------------------------------------------------------------------- run

    async def _run_tests(
        self,
        spec: LanguageSpec,
        request: ExecuteRequest,
        limits: ResolvedLimits,
        smap: SourceMap,
        artifact: Path,
        lines: LineCoverage | None,
    ) -> list[TestResult]:
        with self._work() as work:
            paths = self._paths(artifact, work)
            runs = []
            for index, test in enumerate(request.tests):
                command, stdin = spec.command(test, index, paths, limits, smap, lines is not None)
                runs.append(
                    self._run_entry(
                        command,
                        stdin,
                        limits.cpu_time_limit_ms,
                        limits.wall_time_limit_ms,
                        limits.output_limit_bytes,
                        TMPFS_BYTES,
                        stack_limit(limits),
                    )
                )
            return await self._run_jail(spec, request, limits, smap, artifact, lines, runs, work)

    async def _run_jail(
        self,
        spec: LanguageSpec,
        request: ExecuteRequest,
        limits: ResolvedLimits,
        smap: SourceMap,
        artifact: Path,
        lines: LineCoverage | None,
        runs: list[dict[str, Any]],
        work: str,
    ) -> list[TestResult]:
        jail = JailSpec(
            command=self._supervisor_argv(),
            readonly_binds=[*_system_binds(), *spec.extra_binds(), (str(artifact), JAIL_BUILD)],
            memory_bytes=limits.memory_limit_bytes + HARNESS_MEMORY_BYTES,
            wall_time_s=math.ceil(len(runs) * limits.wall_time_limit_ms / 1000.0) + 10,
            pids_max=PIDS_MAX,
            cgroup_parent=self._cgroup_parent,
        )
        results: list[TestResult] = []
        text, _ = candidate_source(request)

        async def decide(record: dict[str, Any]) -> bool:
            index = len(results)
            test = request.tests[index]
            results.append(self._interpret(spec, record, test, index, limits, smap))
            if lines is not None:
                covered = spec.coverage_lines(record, smap, text)
                lines.executed.update(covered.executed)
                lines.executable.update(covered.executable)
            return results[-1].status is Status.PASSED

        await self._supervise(jail, runs, decide, ask=request.stop_on_first_failure, work=work)
        skipped = [
            TestResult(index=index, name=request.tests[index].name, status=Status.SKIPPED)
            for index in range(len(results), len(request.tests))
        ]
        return results + skipped

    def _interpret(
        self,
        spec: LanguageSpec,
        record: dict[str, Any],
        test: TestCase,
        index: int,
        limits: ResolvedLimits,
        smap: SourceMap,
    ) -> TestResult:
        status, error, actual, expected = self._decide(spec, record, test, index, limits, smap)
        stdout, stdout_cut = _truncate(str(record.get("stdout", "")))
        raw_stderr = str(record.get("stderr", ""))
        stderr, stderr_cut = _truncate(spec.stderr_for_user(raw_stderr))
        return TestResult(
            index=index,
            name=test.name,
            status=status,
            cpu_time_ms=float(record.get("cpu_ms", 0.0)),
            wall_time_ms=float(record.get("wall_ms", 0.0)),
            peak_memory_bytes=int(record.get("peak_memory_bytes", 0)),
            stdout=stdout,
            stderr=stderr,
            stdout_truncated=stdout_cut or record.get("stdout_total", 0) > len(stdout.encode()),
            stderr_truncated=stderr_cut or record.get("stderr_total", 0) > len(raw_stderr.encode()),
            actual=actual,
            expected=expected,
            checker=test.reported_checker(),
            error=error,
            exit_code=int(record.get("exit_code", 0)),
        )

    def _decide(
        self,
        spec: LanguageSpec,
        record: dict[str, Any],
        test: TestCase,
        index: int,
        limits: ResolvedLimits,
        smap: SourceMap,
    ) -> tuple[Status, ErrorInfo | None, str, str]:
        limit = limit_exceeded(record, limits, index, memory_error_type="MemoryLimitExceeded")
        if limit is not None:
            return limit[0], limit[1], "", ""
        failure = spec.failure(record, test, smap)
        if failure is not None:
            return failure.status, failure.error(spec.name, index), "", ""
        exit_code = int(record.get("exit_code", 0))
        body = test.body
        checker = test.resolved_checker()
        if isinstance(body, StdioTest):
            if exit_code != 0:
                return Status.RUNTIME_ERROR, _exit_error(exit_code, index, finished=True), "", ""
            if isinstance(body, ProgramRun):
                return Status.PASSED, None, "", ""
            actual = str(record.get("stdout", ""))
            if checkers.stdout_matches(actual, body.expected_stdout, checker):
                return Status.PASSED, None, "", ""
            return _wrong(actual, body.expected_stdout, index)
        outcome = result_record(record)
        if exit_code != 0 or outcome is None or outcome.get("outcome") != "ok":
            return Status.RUNTIME_ERROR, _exit_error(exit_code, index, finished=False), "", ""
        if isinstance(body, CallTest):
            if "unserialisable" in outcome:
                actual = f"<not JSON data: {outcome['unserialisable']}>"
                return _wrong(actual, body.expected_json, index)
            actual = str(outcome.get("value_json", "null"))
            if checkers.value_matches(actual, body.expected_json, checker):
                return Status.PASSED, None, "", ""
            return _wrong(actual, body.expected_json, index)
        return Status.PASSED, None, "", ""

    # ---------------------------------------------------------------------------- plumbing

    def _supervisor_argv(self) -> list[str]:
        runtime = py.python_runtime()
        harness = runtime.harness("native_harness", jailed=self._jailed)
        return [runtime.interpreter, "-I", "-S", "-B", harness]

    @staticmethod
    def _run_entry(
        command: Command,
        stdin: str,
        cpu_ms: float,
        wall_ms: float,
        output_limit: int,
        file_limit: int,
        stack_bytes: int,
    ) -> dict[str, Any]:
        return {
            "argv": command.argv,
            "env": command.env,
            "cwd": command.cwd,
            "stdin": stdin,
            "cpu_ms": cpu_ms,
            "wall_ms": wall_ms,
            "output_limit": output_limit,
            "file_limit": file_limit,
            "stack_bytes": stack_bytes,
            "nofile": NOFILE,
            "collect": command.collect,
            "post": [{"argv": argv} for argv in command.post],
            "fault_marker": command.fault_marker,
        }

    async def _supervise(
        self,
        jail: JailSpec,
        runs: list[dict[str, Any]],
        decide: Callable[[dict[str, Any]], Awaitable[bool]],
        *,
        ask: bool,
        work: str,
    ) -> None:
        """Run ``runs`` under one supervisor (in ``jail``, or on the host without isolation);
        ``decide(record)`` says whether to go on, which the supervisor waits for when ``ask``."""
        job = {"runs": runs, "workdir": work, "ask_continue": ask, "wipe": True}
        deadline = jail.wall_time_s + 5
        if self._jailed:
            harness = await HarnessProcess.start(nsjail_argv(jail))
        else:
            harness = await HarnessProcess.start(self._supervisor_argv(), cwd=work)
        finished = False
        try:
            async with asyncio.timeout(deadline):
                async for record in harness.run_job(job):
                    if record.get("event") != "run":
                        continue
                    keep_going = await decide(record)
                    if ask:
                        await harness.answer(keep_going)
            finished = True
        except TimeoutError:
            raise HarnessCrashed(f"the jail did not finish within {deadline} s") from None
        finally:
            await (harness.close() if finished else harness.kill())


def _exit_error(exit_code: int, index: int, *, finished: bool) -> ErrorInfo:
    if exit_code < 0:
        name = signal_name(exit_code)
        return ErrorInfo(
            type=name, message=f"killed by {name}", subtype=Subtype.IGNORE, test_index=index
        )
    message = (
        f"the program exited with code {exit_code}"
        if finished
        else f"the program exited with code {exit_code} before the test completed"
    )
    return ErrorInfo(type="Exit", message=message, subtype=Subtype.IGNORE, test_index=index)


def _wrong(actual: str, expected: str, index: int) -> tuple[Status, ErrorInfo, str, str]:
    error = ErrorInfo(
        type="WrongAnswer",
        message=f"expected {expected[:200]!r}, got {actual[:200]!r}",
        subtype=Subtype.IGNORE,
        test_index=index,
    )
    return Status.WRONG_ANSWER, error, actual, expected
