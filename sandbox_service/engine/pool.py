"""Warm, jailed harness workers for pooled isolation.

Each worker is a harness parent already inside its own nsjail (pid, mount, network namespaces,
cgroup), so an execution pays a fork instead of a jail and an interpreter.
The harness parent never runs candidate code and, after every test, kills every other process in
its jail and wipes its /tmp, so nothing of one execution reaches the next. A worker that dies,
misbehaves or is cancelled mid-job is replaced; replacing is retried until it succeeds, so a
failed start (a host briefly out of pids or memory) does not shrink the pool for good. Every
replacement is counted by reason (:attr:`WorkerPool.restarts`).

A worker that has served its quota of jobs (``RECYCLE_AFTER`` to 1.5 times that, drawn per
worker) is recycled make-before-break: it keeps serving while its replacement starts, and leaves
once the replacement is ready. Why: a worker's start takes some 0.1-0.3 s, and breaking first
left the pool a worker short for that long; with equal quotas, workers that share the load
reached them together, and the requests queued meanwhile took up to twice the median latency
(trivial requests at concurrency 32, every 2,000 jobs per worker).

The memory limit of a job is written into the worker's own cgroup before the job starts, so
requests with different limits share the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from crucible.sandbox_service.engine.harness_process import (
    HarnessCrashed,
    HarnessProcess,
    marshal_frame,
)
from crucible.sandbox_service.engine.jail import jail_cgroup_dirs, memory_limit_file

RECYCLE_AFTER = 2000
# Seconds between tries to start a replacement worker after a failed start.
RESPAWN_BACKOFF_S = 1.0

logger = logging.getLogger("crucible.sandbox.engine")

RestartReason = Literal["died", "crashed", "stuck", "cancelled", "recycled", "tampered"]
RESTART_REASONS: tuple[RestartReason, ...] = (
    "died",
    "crashed",
    "stuck",
    "cancelled",
    "recycled",
    "tampered",
)


def _jailed_pid(nsjail_pid: int) -> int | None:
    """Host pid of the process nsjail started in its jail (its only child)."""
    children = Path(f"/proc/{nsjail_pid}/task/{nsjail_pid}/children")
    try:
        return int(children.read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


class Worker:
    """A harness in its jail plus the bookkeeping the pool needs."""

    def __init__(self, harness: HarnessProcess, cgroups: list[Path]) -> None:
        self.harness = harness
        self.jobs = 0
        # Drawn per worker so that workers started together are not recycled together.
        self.quota = random.randint(RECYCLE_AFTER, RECYCLE_AFTER * 3 // 2)
        # The start of this worker's replacement once it reached its quota; it leaves the pool
        # (``retiring``) when the replacement is ready.
        self.replacement: asyncio.Task[None] | None = None
        self.retiring = False
        # The jail's own groups, memory first; removed when the worker is retired.
        self.cgroups = cgroups
        self._memory_bytes = 0

    def set_memory_limit(self, memory_bytes: int) -> None:
        """Set the jail's memory limit for the next job. Raises HarnessCrashed when the jail's
        group is gone (the worker died since it was handed out)."""
        if memory_bytes == self._memory_bytes or not self.cgroups:
            return
        try:
            memory_limit_file(self.cgroups[0]).write_text(str(memory_bytes))
        except OSError as exc:
            raise HarnessCrashed(f"cannot set the worker's memory limit: {exc}") from exc
        self._memory_bytes = memory_bytes


class WorkerPool:
    """A fixed number of warm workers handed out one job at a time."""

    def __init__(
        self, size: int, argv_factory: Callable[[], list[str]], cgroup_parent: str
    ) -> None:
        self._size = size
        self._argv_factory = argv_factory
        self._cgroup_parent = cgroup_parent
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._all: set[Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # retirements and replacements
        self._closed = False
        self.restarts: Counter[RestartReason] = Counter()

    @property
    def alive(self) -> int:
        """Workers whose harness is running (idle or busy); safe to read from any thread."""
        return sum(1 for worker in list(self._all) if worker.harness.alive)

    async def _spawn(self) -> Worker:
        harness = await HarnessProcess.start(self._argv_factory(), encode_job=marshal_frame)
        jailed = _jailed_pid(harness.pid)
        cgroups = [] if jailed is None else jail_cgroup_dirs(self._cgroup_parent, jailed)
        worker = Worker(harness, cgroups)
        self._all.add(worker)
        return worker

    async def _spawn_until_started(self) -> Worker | None:
        """A new worker, retried until one starts; None when the pool closed meanwhile (a
        worker started then is retired)."""
        while not self._closed:
            try:
                worker = await self._spawn()
            except (OSError, HarnessCrashed) as exc:
                logger.warning(
                    "worker start failed; retrying",
                    extra={"fields": {"error": str(exc), "retry_in_s": RESPAWN_BACKOFF_S}},
                )
                await asyncio.sleep(RESPAWN_BACKOFF_S)
                continue
            if not self._closed:
                return worker
            await self._retire(worker)
        return None

    async def _replenish(self) -> None:
        worker = await self._spawn_until_started()
        if worker is not None:
            self._idle.put_nowait(worker)

    async def _recycle(self, worker: Worker) -> None:
        """Start ``worker``'s replacement, then let it take ``worker``'s place: ``worker``
        serves until then, and leaves when it is next handed out or given back."""
        replacement = await self._spawn_until_started()
        if replacement is None:
            return
        worker.retiring = True
        self._idle.put_nowait(replacement)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        """Start every worker (idempotent); the first acquire calls it."""
        missing = self._size - len(self._all) - len(self._tasks)
        if missing > 0:
            workers = await asyncio.gather(*(self._spawn() for _ in range(missing)))
            for worker in workers:
                self._idle.put_nowait(worker)

    async def acquire(self) -> Worker:
        if not self._all and not self._tasks:
            await self.start()
        while True:
            worker = await self._idle.get()
            if self._usable(worker):
                return worker

    def acquire_nowait(self) -> Worker | None:
        """An idle live worker, or None when none is idle now (then await :meth:`acquire`).
        The engine admits no more jobs than workers, so a worker is nearly always idle: taking
        it without a coroutine or a timeout is one less timer per job on the event loop."""
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if self._usable(worker):
                return worker
        return None

    def _usable(self, worker: Worker) -> bool:
        """Whether an idle ``worker`` may take a job; one that died is replaced, one whose
        replacement is ready leaves."""
        if worker.retiring:
            self._track(asyncio.get_running_loop().create_task(self._retire(worker)))
            return False
        if not worker.harness.alive:
            self.discard(worker, "died")
            return False
        return True

    def release(self, worker: Worker) -> None:
        """Give back a worker whose job ended normally."""
        worker.jobs += 1
        if worker.harness.retire_requested:
            self.discard(worker, "tampered")
        elif not worker.harness.alive:
            self.discard(worker, "died")
        elif self._closed or worker.retiring:
            self._track(asyncio.get_running_loop().create_task(self._retire(worker)))
        else:
            if worker.jobs >= worker.quota and worker.replacement is None:
                self._count_restart(worker, "recycled")
                worker.replacement = asyncio.get_running_loop().create_task(self._recycle(worker))
                self._track(worker.replacement)
            self._idle.put_nowait(worker)

    def discard(self, worker: Worker, reason: RestartReason) -> None:
        """Kill a worker that is dead or in an unknown state, and replace it (unless it was
        being recycled: its replacement is already starting; the reason is counted anyway)."""
        loop = asyncio.get_running_loop()
        self._track(loop.create_task(self._retire(worker)))
        if self._closed:
            return
        self._count_restart(worker, reason)
        if worker.replacement is None:
            self._track(loop.create_task(self._replenish()))

    def _count_restart(self, worker: Worker, reason: RestartReason) -> None:
        self.restarts[reason] += 1
        logger.info(
            "worker replaced",
            extra={"fields": {"reason": reason, "pid": worker.harness.pid, "jobs": worker.jobs}},
        )

    async def _retire(self, worker: Worker) -> None:
        self._all.discard(worker)
        await worker.harness.kill()
        # nsjail removes its groups unless it was SIGKILLed; then the last process of the jail
        # may take a moment to leave them.
        for _ in range(10):
            for group in worker.cgroups:
                with contextlib.suppress(OSError):
                    group.rmdir()
            if not any(group.exists() for group in worker.cgroups):
                return
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self._closed = True
        while self._tasks:  # also the tasks that those under way start
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await asyncio.sleep(0)  # lets finished tasks leave the set
        await asyncio.gather(*(self._retire(worker) for worker in list(self._all)))
