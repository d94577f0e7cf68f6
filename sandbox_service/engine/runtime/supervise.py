"""Watching one forked command, shared by both in-jail harnesses (``python_harness`` runs a
Python test, ``native_harness`` a compiler or a compiled program). Standard library only.

The harness forks the command with its stdout, stderr and result pipes; :func:`supervise` reads
them into bounded buffers until the command and every pipe are done, the wall deadline passes or
the output limit is crossed, then kills the whole process tree and reaps it, so ``wait4``'s CPU
time and peak memory cover everything the command started. The harnesses load this file by
path (they run with ``-I``, where their own directory is not on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import time
from typing import Any

STDERR_KEEP = 64 << 10
RESULT_KEEP = 16 << 20


class Capture:
    """Reads a pipe into a bounded buffer, counting every byte."""

    def __init__(self, fd: int, keep: int) -> None:
        self.fd, self.keep = fd, keep
        self.data = bytearray()
        self.total = 0

    def read(self) -> bool:
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            return False
        self.total += len(chunk)
        room = self.keep - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        return True

    def text(self, limit: int | None = None) -> str:
        return bytes(self.data[:limit]).decode("utf-8", "replace")


# Whether this harness is pid 1 of a jail's pid namespace (known once: a pid never changes).
_JAILED = os.getpid() == 1


def kill_tree(pid: int) -> None:
    """SIGKILL the command's processes: as pid 1 of a jail every process but this one; without a
    jail (``--insecure-no-sandbox``) only the command's session can be reached."""
    try:
        if _JAILED:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reap_all() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def process_cpu_ms(pid: int) -> float:
    """CPU time so far of live process ``pid`` (every thread; not the processes it started), read
    from its CPU clock: ``clock_gettime`` with the clock id ``(~pid << 3) | CPUCLOCK_SCHED``,
    which the kernel gives for any process of the caller's pid namespace, to the nanosecond."""
    return time.clock_gettime_ns(((~pid) << 3) | 2) / 1e6


def _drain_ready(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _never() -> bool:
    return False


class Watch:
    """A forked command's stdout, stderr and result pipes and its exit, read into captures."""

    def __init__(self, pid: int, pipes: tuple[int, int, int]) -> None:
        self.pid, self.pipes = pid, pipes
        self.pidfd = os.pidfd_open(pid)
        self.open_fds = set(pipes)
        self.exited = False

    def watch(
        self,
        captures: tuple[Capture, Capture, Capture],
        deadline: float,
        output_limit: int,
        done: Any = _never,
    ) -> str:
        """Read the pipes into ``captures`` until ``done()`` is true or the command has exited
        and every pipe is closed (both ""), the ``deadline`` (monotonic) passes ("wall") or
        stdout and stderr together pass ``output_limit`` ("output")."""
        stdout, stderr, _ = captures
        by_fd = dict(zip(self.pipes, captures, strict=True))
        open_fds = self.open_fds
        while open_fds or not self.exited:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "wall"
            watched = list(open_fds) + ([] if self.exited else [self.pidfd])
            ready, _, _ = select.select(watched, [], [], remaining)
            for fd in ready:
                if fd == self.pidfd:
                    self.exited = True
                elif not by_fd[fd].read():
                    open_fds.discard(fd)
            if stdout.total + stderr.total > output_limit:
                return "output"
            if done():
                return ""
            if self.exited and open_fds:
                kill_tree(self.pid)  # the command is gone but something it started holds a pipe
        return ""

    def drain(self, captures: tuple[Capture, Capture, Capture]) -> None:
        """Read what the pipes hold now, without waiting for more."""
        for fd, capture in zip(self.pipes, captures, strict=True):
            while fd in self.open_fds and _drain_ready(fd):
                if not capture.read():
                    self.open_fds.discard(fd)

    def end(self, captures: tuple[Capture, Capture, Capture]) -> tuple[int, Any, float]:
        """Kill the command's processes, reap them all, read what they wrote and close the
        pipes. Returns the command's wait status, its resource usage and when it was reaped."""
        kill_tree(self.pid)
        _, status, usage = os.wait4(self.pid, 0)
        reaped = time.monotonic()
        reap_all()
        self.drain(captures)
        for fd in (*self.pipes, self.pidfd):
            os.close(fd)
        self.open_fds.clear()
        return status, usage, reaped


def _captures(pipes: tuple[int, int, int], output_limit: int) -> tuple[Capture, Capture, Capture]:
    out_r, err_r, res_r = pipes
    stdout = Capture(out_r, output_limit + 1)
    return stdout, Capture(err_r, STDERR_KEEP), Capture(res_r, RESULT_KEEP)


def _watched(
    captures: tuple[Capture, Capture, Capture],
    output_limit: int,
    **measured: Any,
) -> dict[str, Any]:
    stdout, stderr, result = captures
    return {
        **measured,
        "stdout": stdout.text(output_limit),
        "stdout_total": stdout.total,
        "stderr": stderr.text(),
        "stderr_total": stderr.total,
        "result": bytes(result.data),
    }


def supervise(
    pid: int,
    pipes: tuple[int, int, int],
    *,
    started: float,
    cpu_before: float,
    wall_ms: float,
    output_limit: int,
) -> dict[str, Any]:
    """Watch ``pid`` (forked at ``started``, when the children's CPU time was ``cpu_before``)
    through the read ends of its stdout, stderr and result pipes, which this closes. Returns the
    exit code, CPU and wall time, peak memory, the captures (stdout cut at ``output_limit``; the
    result pipe as bytes) and ``killed_by``: "wall", "output" or ""."""
    captures = _captures(pipes, output_limit)
    watch = Watch(pid, pipes)
    killed_by = watch.watch(captures, started + wall_ms / 1000.0, output_limit)
    status, usage, reaped = watch.end(captures)
    return _watched(
        captures,
        output_limit,
        exit_code=os.waitstatus_to_exitcode(status),
        cpu_ms=children_cpu_ms() - cpu_before,
        wall_ms=(reaped - started) * 1000.0,
        peak_memory_bytes=usage.ru_maxrss * 1024,
        killed_by=killed_by,
    )


class SharedChild:
    """A forked process that runs tests one after another, waiting between them for a byte on
    its go pipe (the Python harness's ``tests_share_process``). Each test is watched as
    :func:`supervise` watches a command, with its own captures, wall deadline and output limit,
    until its record (the line carrying its token) arrives while the process waits, or the
    process ends.

    A test's CPU time is the process's CPU clock over the test (the first test's includes the
    process's start); the test during which the process ends gets what the jail's children used
    since the fork and no earlier test was given: its exit, and processes that tests started.
    Its peak memory is the process's, from ``wait4``; while it lives, the process reports its
    own peak so far with each record.
    """

    def __init__(
        self, pid: int, pipes: tuple[int, int, int], go: int, *, cpu_before: float
    ) -> None:
        self.watch = Watch(pid, pipes)
        self.go = go
        self.cpu_before = cpu_before
        self.clock = 0.0  # the process's CPU clock at the end of the last test it survived
        self.counted = 0.0  # CPU time given to tests so far
        self.tests = 0
        self.alive = True

    def test(self, token: str, *, wall_ms: float, output_limit: int, last: bool) -> dict[str, Any]:
        """Run the next test (the first starts at the fork) and watch it; ``last``: the process
        ends after it. ``alive`` says afterwards whether the process waits for another."""
        started = time.monotonic()
        if self.tests:
            with contextlib.suppress(BrokenPipeError):  # gone: the watch sees it end
                os.write(self.go, b"g")
        self.tests += 1
        captures = _captures(self.watch.pipes, output_limit)
        result, marker = captures[2], token.encode()

        def reported() -> bool:
            at = result.data.find(marker)
            return at >= 0 and result.data.find(b"\n", at) >= 0

        done = _never if last else reported
        killed_by = self.watch.watch(captures, started + wall_ms / 1000.0, output_limit, done)
        if not killed_by and not self.watch.exited and reported():
            self.watch.drain(captures)
            try:
                clock = process_cpu_ms(self.watch.pid)
            except OSError:  # ended since: the end gives the rest
                clock = self.clock
            cpu_ms, self.clock = clock - self.clock, clock
            self.counted += cpu_ms
            wall = (time.monotonic() - started) * 1000.0
            measured = {"exit_code": 0, "cpu_ms": cpu_ms, "wall_ms": wall, "killed_by": ""}
            return _watched(captures, output_limit, peak_memory_bytes=0, **measured)
        status, usage, reaped = self._end(captures)
        return _watched(
            captures,
            output_limit,
            exit_code=os.waitstatus_to_exitcode(status),
            cpu_ms=children_cpu_ms() - self.cpu_before - self.counted,
            wall_ms=(reaped - started) * 1000.0,
            peak_memory_bytes=usage.ru_maxrss * 1024,
            killed_by=killed_by,
        )

    def _end(self, captures: tuple[Capture, Capture, Capture]) -> tuple[int, Any, float]:
        self.alive = False
        os.close(self.go)
        return self.watch.end(captures)

    def close(self) -> None:
        """End the process if it still waits for a test (the job stopped early)."""
        if self.alive:
            self._end(_captures(self.watch.pipes, 0))
