"""Warm, jailed harness workers for pooled isolation.

Each worker is a harness parent already inside its own nsjail (pid, mount, network namespaces,
cgroup) with coverage imported, so an execution pays a fork instead of a jail and an interpreter.
The harness parent never runs candidate code and, after every test, kills every other process in
its jail and wipes its /tmp, so nothing of one execution reaches the next. A worker that dies,
misbehaves, is cancelled mid-job or has served ``RECYCLE_AFTER`` jobs is replaced.

The memory limit of a job is written into the worker's own cgroup before the job starts, so
requests with different limits share the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from sandbox_service.engine.harness_process import HarnessProcess
from sandbox_service.engine.jail import CGROUP_PARENT, cgroup_layout

RECYCLE_AFTER = 2000


def _jail_cgroup_files(nsjail_pid: int) -> list[Path]:
    """The memory-limit files of the cgroup nsjail made for its jail (named after the jailed
    process's pid, nsjail's only child)."""
    layout = cgroup_layout()
    children = Path(f"/proc/{nsjail_pid}/task/{nsjail_pid}/children")
    try:
        child = children.read_text().split()[0]
    except (OSError, IndexError):
        return []
    if layout.version == 1:
        group = Path(layout.memory_mount) / CGROUP_PARENT / f"NSJAIL.{child}"
        return [group / "memory.limit_in_bytes"]
    group = Path(layout.memory_mount) / f"NSJAIL.{child}"
    return [group / "memory.max"]


class Worker:
    """A harness in its jail plus the bookkeeping the pool needs."""

    def __init__(self, harness: HarnessProcess, limit_files: list[Path]) -> None:
        self.harness = harness
        self.jobs = 0
        self._limit_files = limit_files
        self._memory_bytes = 0

    def set_memory_limit(self, memory_bytes: int) -> None:
        if memory_bytes == self._memory_bytes:
            return
        for path in self._limit_files:
            path.write_text(str(memory_bytes))
        self._memory_bytes = memory_bytes


class WorkerPool:
    """A fixed number of warm workers handed out one job at a time."""

    def __init__(self, size: int, argv_factory: Callable[[], list[str]]) -> None:
        self._size = size
        self._argv_factory = argv_factory
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._all: set[Worker] = set()
        self._spawning: set[asyncio.Task[None]] = set()
        self._closed = False

    async def _spawn(self) -> Worker:
        harness = await HarnessProcess.start(self._argv_factory())
        worker = Worker(harness, _jail_cgroup_files(harness.pid))
        self._all.add(worker)
        return worker

    async def _replenish(self) -> None:
        if self._closed:
            return
        worker = await self._spawn()
        if self._closed:
            await self._retire(worker)
            return
        self._idle.put_nowait(worker)

    def _replenish_later(self) -> None:
        task = asyncio.get_running_loop().create_task(self._replenish())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def start(self) -> None:
        """Start every worker (idempotent); the first acquire calls it."""
        missing = self._size - len(self._all) - len(self._spawning)
        if missing > 0:
            workers = await asyncio.gather(*(self._spawn() for _ in range(missing)))
            for worker in workers:
                self._idle.put_nowait(worker)

    async def acquire(self) -> Worker:
        if not self._all and not self._spawning:
            await self.start()
        while True:
            worker = await self._idle.get()
            if worker.harness.alive:
                return worker
            await self._retire(worker)
            self._replenish_later()

    def release(self, worker: Worker) -> None:
        """Give back a worker whose job ended normally."""
        worker.jobs += 1
        if worker.jobs >= RECYCLE_AFTER or not worker.harness.alive or self._closed:
            self.discard(worker)
        else:
            self._idle.put_nowait(worker)

    def discard(self, worker: Worker) -> None:
        """Kill a worker whose state is unknown (crashed, cancelled mid-job) and replace it."""
        task = asyncio.get_running_loop().create_task(self._retire(worker))
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)
        self._replenish_later()

    async def _retire(self, worker: Worker) -> None:
        self._all.discard(worker)
        await worker.harness.kill()

    async def close(self) -> None:
        self._closed = True
        for task in list(self._spawning):
            with contextlib.suppress(Exception):
                await task
        await asyncio.gather(*(self._retire(worker) for worker in list(self._all)))
