"""The engine's public face: validate a request, run it, return a verdict.

Admission is bounded: at most ``workers`` programs run at once and at most ``max_queue`` wait;
beyond that :class:`EngineBusy` is raised at once instead of letting callers hang. Every admitted
request gets a verdict: failures of the sandbox itself become SANDBOX_ERROR verdicts with the
reason, never exceptions. Cancelling the awaiting task kills the program's jail.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from crucible.sandbox_service.engine import python_runner as py
from crucible.sandbox_service.engine.admission import Admission
from crucible.sandbox_service.engine.harness_process import (
    HarnessCrashed,
    HarnessProcess,
    marshal_frame,
    remove_stale_cgroups,
)
from crucible.sandbox_service.engine.jail import (
    CGROUP_PARENT,
    HARNESS_MEMORY_BYTES,
    JailSpec,
    cgroup_layout,
    check_cgroup_parent,
    nsjail_argv,
    nsjail_binary,
)
from crucible.sandbox_service.engine.languages import NativeRunner, UnsupportedTest
from crucible.sandbox_service.engine.pool import (
    RESTART_REASONS,
    RestartReason,
    Worker,
    WorkerPool,
)
from crucible.sandbox_service.engine.python_statements import candidate_statements
from crucible.sandbox_service.engine.verdict import (
    LineCoverage,
    build_response,
    run_response,
    uniform_results,
)
from crucible.sandbox_service.models import (
    ErrorInfo,
    ExecuteRequest,
    ExecuteResponse,
    IsolationMode,
    Language,
    ResolvedLimits,
    Status,
    Subtype,
    TestResult,
    backstop_wall_ms,
)

_ISOLATION = {
    "strict": IsolationMode.STRICT,
    "pooled": IsolationMode.POOLED,
    "none": IsolationMode.NONE,
}


class RequestRejected(ValueError):
    """A request the engine will not run; the message names the offending field."""


class EngineBusy(RuntimeError):
    """The queue is full; the caller should retry later (RESOURCE_EXHAUSTED)."""


def _importable_directory(path: Path) -> Path:
    """``path`` resolved, if it is a directory the jail's unprivileged user can list."""
    if not path.is_dir():
        raise ValueError(f"{path} is not a directory")
    if path.stat().st_mode & 0o005 != 0o005:
        raise ValueError(
            f"{path} is not readable by the jails' unprivileged user: chmod -R o+rX {path}"
        )
    return path.resolve()


def _contract_wall_limit(limits: ResolvedLimits) -> ResolvedLimits:
    wanted = backstop_wall_ms(limits.cpu_time_limit_ms)
    if limits.wall_time_limit_ms != wanted:
        raise ValueError(
            f"wall_time_limit_ms must be 3 x cpu_time_limit_ms + 1000 = {wanted:g} (the "
            f"contract's wall limit of a request that sets none), got "
            f"{limits.wall_time_limit_ms:g}"
        )
    return limits


class EngineConfig(BaseModel):
    """How the engine runs programs; the server's and the CLI's flags map onto these fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: Annotated[int, Field(ge=1, le=1024)] = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Programs executed at once (jails or warm workers).",
    )
    isolation: Literal["strict", "pooled", "none"] = Field(
        default="strict",
        description="strict: a fresh nsjail per execution; pooled: warm nsjail'd workers that "
        "fork a fresh child per test; none: no isolation (only with --insecure-no-sandbox).",
    )
    max_queue: Annotated[int, Field(ge=0)] = Field(
        default=1024,
        description="Requests allowed to wait for a worker; beyond that execute() raises "
        "EngineBusy (the server answers RESOURCE_EXHAUSTED).",
    )
    default_limits: Annotated[ResolvedLimits, AfterValidator(_contract_wall_limit)] = Field(
        default=ResolvedLimits(
            cpu_time_limit_ms=4000.0,
            wall_time_limit_ms=13000.0,
            memory_limit_bytes=512 << 20,
            output_limit_bytes=8 << 20,
        ),
        description="Limits used for fields a request leaves unset (RLTF uses a 4 s limit); "
        "an unset wall limit is always 3 x the CPU limit + 1 s (the contract), so the default "
        "wall limit must follow that rule.",
    )
    python_packages: Annotated[Path, AfterValidator(_importable_directory)] | None = Field(
        default=None,
        description="A directory of Python packages programs may import, e.g. made with "
        "`pip install --target DIR numpy`; bound read-only into every Python jail and put on "
        "its sys.path after the standard library. None: the standard library only.",
    )
    preload_line_probes: bool = Field(
        default=True,
        description="Pooled workers load slipcover (Python's line probes) when they start, so "
        "every test's CPU time is measured in the same process image. False: a worker loads it "
        "for its first job that collects coverage and keeps it; tests in workers that have not "
        "(no coverage asked yet) cost about 0.1 ms less CPU each (a smaller image to fork and "
        "exit), but a test's CPU time then depends on whether its worker served a coverage job "
        "before. Isolation is the same either way.",
    )
    cgroup_parent: Annotated[str, AfterValidator(check_cgroup_parent)] = Field(
        default_factory=lambda: os.environ.get("CRUCIBLE_CGROUP_PARENT", CGROUP_PARENT),
        validate_default=True,  # the environment's value is checked like a given one
        description="cgroup (v1) under which every jail gets its groups, e.g. 'crucible' or "
        "'crucible/server-2'; default $CRUCIBLE_CGROUP_PARENT or 'crucible'. Separate parents "
        "keep the jails of several servers on one host apart.",
    )


@dataclass(frozen=True)
class _Started:
    """A job sent to a pooled worker as its request was admitted, and when."""

    worker: Worker
    at: float


@dataclass(frozen=True)
class EngineStats:
    """What the engine is doing now, for metrics; safe to take from any thread."""

    workers: int
    running: int
    queued: int
    pool_workers_alive: int
    worker_restarts: dict[str, int]


class Engine:
    """Runs requests; share one per process and use it from one event loop."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        if config.isolation != "none":
            nsjail_binary()
            cgroup_layout()
            remove_stale_cgroups(config.cgroup_parent)
        self._runtime = py.python_runtime()
        self._native = NativeRunner(config.isolation, config.cgroup_parent)
        self._slots: Admission[_Started] = Admission(config.workers)
        self._admitted = 0
        self._running = 0
        self._pool = (
            WorkerPool(config.workers, self._pooled_argv, config.cgroup_parent)
            if config.isolation == "pooled"
            else None
        )

    def languages(self) -> list[Language]:
        """Every language this engine runs, sorted by name."""
        return list(self._languages)

    @functools.cached_property
    def _languages(self) -> tuple[Language, ...]:
        # Toolchains are probed once; every request checks its language against this list.
        languages = [py.python_language(), *self._native.languages()]
        return tuple(sorted(languages, key=lambda language: language.name))

    @functools.cached_property
    def _language_names(self) -> list[str]:
        return [language.name for language in self._languages]

    def stats(self) -> EngineStats:
        """Running and queued requests, live pooled workers and their replacements by reason."""
        pool = self._pool
        return EngineStats(
            workers=self.config.workers,
            running=self._running,
            queued=max(0, self._admitted - self._running),
            pool_workers_alive=pool.alive if pool is not None else 0,
            worker_restarts={} if pool is None else {r: pool.restarts[r] for r in RESTART_REASONS},
        )

    async def start(self) -> None:
        """Warm the pooled workers now rather than on the first request."""
        if self._pool is not None:
            await self._pool.start()

    def _check(self, request: ExecuteRequest) -> ResolvedLimits:
        names = self._language_names
        if request.language not in names:
            raise RequestRejected(
                f"language {request.language!r} is not supported; choose one of {names}"
            )
        return ResolvedLimits.resolve(request.limits, self.config.default_limits)

    async def execute(self, request: ExecuteRequest) -> ExecuteResponse:
        """Run one request. Raises RequestRejected for requests that cannot run (unknown
        language, unparsable test code), EngineBusy when the queue is full; every other
        failure is reported inside the verdict (SANDBOX_ERROR). Cancelling the awaiting task
        kills the program. A request without tests runs the program once (``run_response``)."""
        if request.is_run:
            return run_response(await self.execute(request.with_run()))
        limits = self._check(request)
        native = self._native.runs(request.language)
        job: dict[str, Any] = {}
        try:
            if native:
                if request.tests_share_process:
                    raise RequestRejected(
                        f"tests_share_process is supported for python only, not "
                        f"{request.language!r}: its tests run as a process each"
                    )
                self._native.check(request)
            else:
                job = py.build_job(
                    request,
                    limits,
                    workdir=py.JAIL_WORKDIR,
                    ask_continue=request.stop_on_first_failure,
                )
        except (py.InvalidTest, UnsupportedTest) as exc:
            raise RequestRejected(str(exc)) from None
        if self._admitted >= self.config.workers + self.config.max_queue:
            raise EngineBusy(
                f"{self._admitted} requests are running or queued (workers="
                f"{self.config.workers}, max_queue={self.config.max_queue}); retry later"
            )
        self._admitted += 1
        try:
            if native:
                await self._slots.enter()
                self._running += 1
                try:
                    return await self._native.execute(request, limits)
                finally:
                    self._running -= 1
                    self._slots.leave()
            return await self._run(request, limits, job)
        finally:
            self._admitted -= 1

    def _start_on_idle_worker(self, job: dict[str, Any], limits: ResolvedLimits) -> _Started | None:
        """Start ``job`` on an idle pooled worker now (the request is being admitted, maybe
        by the one that just gave its worker back: admission.py says why); None when no worker
        is idle or it could not take the job, and then the request's own task finds one."""
        assert self._pool is not None
        worker = self._pool.acquire_nowait()
        if worker is None:
            return None
        at = time.monotonic()
        try:
            worker.set_memory_limit(limits.memory_limit_bytes + HARNESS_MEMORY_BYTES)
            worker.harness.send_nowait(job)
        except Exception:  # the request's own try, on another worker, meets the error itself
            self._pool.discard(worker, "crashed")
            return None
        return _Started(worker, at)

    def _abandon(self, started: _Started) -> None:
        """A job was started for a request cancelled before it could read the job's records:
        the worker's state is unknown, so it is replaced."""
        assert self._pool is not None
        self._pool.discard(started.worker, "cancelled")

    def _jailed_harness_argv(
        self, *, serve: bool, program_bytes: int, wall_time_s: int
    ) -> list[str]:
        """nsjail's command line for a Python harness: a pooled worker (``serve``) or one
        program's jail; ``program_bytes``: the memory a program may use besides the harness."""
        packages = self.config.python_packages
        spec = JailSpec(
            command=self._runtime.command(
                jailed=True,
                serve=serve,
                packages=packages,
                preload_line_probes=self.config.preload_line_probes,
            ),
            readonly_binds=self._runtime.jail_binds(packages),
            env=py.SINGLE_THREADED_ENV,
            memory_bytes=program_bytes + HARNESS_MEMORY_BYTES,
            wall_time_s=wall_time_s,
            cgroup_parent=self.config.cgroup_parent,
        )
        return nsjail_argv(spec)

    def _pooled_argv(self) -> list[str]:
        memory = self.config.default_limits.memory_limit_bytes
        return self._jailed_harness_argv(serve=True, program_bytes=memory, wall_time_s=0)

    async def _start_strict(
        self, request: ExecuteRequest, limits: ResolvedLimits, job: dict[str, Any]
    ) -> HarnessProcess:
        if self.config.isolation == "none":
            job["workdir"] = tempfile.mkdtemp(prefix="crucible-")
            argv = self._runtime.command(
                jailed=False, serve=False, packages=self.config.python_packages
            )
            return await HarnessProcess.start(argv, cwd=job["workdir"], encode_job=marshal_frame)
        argv = self._jailed_harness_argv(
            serve=False,
            program_bytes=limits.memory_limit_bytes,
            wall_time_s=py.jail_wall_seconds(request, limits),
        )
        return await HarnessProcess.start(argv, encode_job=marshal_frame)

    async def _attempt(
        self,
        request: ExecuteRequest,
        limits: ResolvedLimits,
        job: dict[str, Any],
        lines: set[int] | None,
        started: Worker | None = None,
    ) -> list[TestResult]:
        """One try at running the job, in a pooled worker (``started``: one the job was sent
        to at admission) or a jail of its own. A job that outlives every test's wall backstop
        means the harness is stuck: HarnessCrashed."""
        deadline = py.jail_wall_seconds(request, limits) + 5
        finished = False
        if self._pool is not None:
            # A worker is normally free; only a pool that cannot respawn makes one wait.
            worker = started or self._pool.acquire_nowait()
            if worker is None:
                try:
                    async with asyncio.timeout(deadline):
                        worker = await self._pool.acquire()
                except TimeoutError:
                    raise HarnessCrashed(
                        f"no pooled worker was ready within {deadline} s"
                    ) from None
            # Why the worker's state is unknown if the job does not finish: set on each path out.
            reason: RestartReason = "cancelled"
            try:
                if started is None:
                    worker.set_memory_limit(limits.memory_limit_bytes + HARNESS_MEMORY_BYTES)
                async with asyncio.timeout(deadline):
                    results = await self._drive(
                        worker.harness, request, limits, job, lines, sent=started is not None
                    )
                finished = True
                return results
            except TimeoutError:
                reason = "stuck"
                raise HarnessCrashed(f"the worker did not finish within {deadline} s") from None
            except Exception:
                reason = "crashed"
                raise
            finally:
                if finished:
                    self._pool.release(worker)
                else:
                    self._pool.discard(worker, reason)
        harness = await self._start_strict(request, limits, job)
        try:
            async with asyncio.timeout(deadline):
                results = await self._drive(harness, request, limits, job, lines)
            finished = True
            return results
        except TimeoutError:
            raise HarnessCrashed(f"the jail did not finish within {deadline} s") from None
        finally:
            await (harness.close() if finished else harness.kill())
            if self.config.isolation == "none":
                shutil.rmtree(job["workdir"], ignore_errors=True)

    async def _run(
        self, request: ExecuteRequest, limits: ResolvedLimits, job: dict[str, Any]
    ) -> ExecuteResponse:
        """Wait for a place, run the job (a second try in a fresh worker if the first one's
        sandbox failed), give the place back, then build the verdict: the next request starts
        while this one's coverage and response are worked out."""
        if self._pool is None:
            started = await self._slots.enter()
        else:
            started = await self._slots.enter(
                functools.partial(self._start_on_idle_worker, job, limits), self._abandon
            )
        began = time.monotonic() if started is None else started.at
        lines: set[int] | None = set() if request.collect_coverage else None
        attempts = 2 if self._pool is not None else 1
        self._running += 1
        try:
            for attempt in range(attempts):
                try:
                    worker = started.worker if started is not None and attempt == 0 else None
                    results = await self._attempt(request, limits, dict(job), lines, worker)
                    break
                except HarnessCrashed as exc:
                    if attempt + 1 < attempts:
                        lines = set() if lines is not None else None
                        continue
                    error = ErrorInfo(type="SandboxError", message=str(exc), subtype=Subtype.IGNORE)
                    names = [test.name for test in request.tests]
                    results = uniform_results(
                        len(request.tests), Status.SANDBOX_ERROR, error, names
                    )
                    lines = None
        finally:
            self._running -= 1
            self._slots.leave()
        return build_response(
            request_id=request.request_id,
            tests=results,
            coverage=None if lines is None else await _statement_coverage(request, lines),
            wall_time_ms=(time.monotonic() - began) * 1000.0,
            isolation=_ISOLATION[self.config.isolation],
            limits=limits,
            runtime=self._runtime.version,
        )

    async def _drive(
        self,
        harness: HarnessProcess,
        request: ExecuteRequest,
        limits: ResolvedLimits,
        job: dict[str, Any],
        lines: set[int] | None,
        *,
        sent: bool = False,
    ) -> list[TestResult]:
        _, prelude_lines = py.full_source(request)
        source_map = py.SourceMap(
            path=f"{job['workdir']}/{py.SOLUTION_NAME}",
            prelude_lines=prelude_lines,
            source_lines=len(request.source.splitlines()),
        )
        names = [test.name for test in request.tests]
        results: list[TestResult] = []
        async for record in harness.run_job(job, sent=sent):
            event = record.get("event")
            if event == "compile_error":
                error = py.compile_error(record, source_map)
                results = uniform_results(len(request.tests), Status.COMPILE_ERROR, error, names)
            elif event == "test":
                index = len(results)
                result, executed = py.interpret_test(
                    record, request.tests[index], index, limits, source_map
                )
                results.append(result)
                if lines is not None:
                    lines |= executed
                if request.stop_on_first_failure:
                    await harness.answer(result.status is Status.PASSED)
        skipped = [
            TestResult(index=index, name=names[index], status=Status.SKIPPED)
            for index in range(len(results), len(request.tests))
        ]
        return results + skipped

    async def close(self) -> None:
        """Stop pooled workers and remove cgroups left by killed jails."""
        if self._pool is not None:
            await self._pool.close()
        if self.config.isolation != "none":
            remove_stale_cgroups(self.config.cgroup_parent)


async def _statement_coverage(request: ExecuteRequest, probed: set[int]) -> LineCoverage:
    """slipcover's probed lines widened to whole statements, beside every statement's lines
    (python_statements says why). The parse runs in a thread: a 1 MiB program takes a while,
    and the event loop serves every other request meanwhile. A program the parser cannot
    analyse keeps its probed lines, and no line is reported as not run."""
    program, prelude_lines = py.full_source(request)
    statements = await asyncio.to_thread(candidate_statements, program, prelude_lines)
    if statements is None:
        return LineCoverage(executed=probed, executable=set(probed))
    return LineCoverage(executed=statements.executed(probed), executable=statements.executable)
