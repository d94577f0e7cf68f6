"""Watching one forked command, shared by both in-jail harnesses (``python_harness`` runs a
Python test, ``native_harness`` a compiler or a compiled program). Standard library only.

The harness forks the command with its stdout, stderr and result pipes; :func:`supervise` reads
them into bounded buffers until the command and every pipe are done, the wall deadline passes or
the output limit is crossed, then kills the whole process tree and reaps it, so ``wait4``'s CPU
time and peak memory cover everything the command started. The harnesses load this file by
path (they run with ``-I``, where their own directory is not on ``sys.path``).
"""

from __future__ import annotations

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


def _drain_ready(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


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
    out_r, err_r, res_r = pipes
    stdout = Capture(out_r, output_limit + 1)
    stderr = Capture(err_r, STDERR_KEEP)
    result = Capture(res_r, RESULT_KEEP)
    pidfd = os.pidfd_open(pid)
    open_fds = {out_r: stdout, err_r: stderr, res_r: result}
    deadline = started + wall_ms / 1000.0
    killed_by = ""
    exited = False
    while open_fds or not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            killed_by = "wall"
            break
        watch = list(open_fds) + ([] if exited else [pidfd])
        ready, _, _ = select.select(watch, [], [], remaining)
        for fd in ready:
            if fd == pidfd:
                exited = True
            elif not open_fds[fd].read():
                del open_fds[fd]
        if stdout.total + stderr.total > output_limit:
            killed_by = "output"
            break
        if exited and open_fds:
            kill_tree(pid)  # the command is gone but something it started still holds a pipe
    kill_tree(pid)
    _, status, usage = os.wait4(pid, 0)
    elapsed_ms = (time.monotonic() - started) * 1000.0
    reap_all()
    for fd, capture in list(open_fds.items()):
        while _drain_ready(fd) and capture.read():
            pass
    for fd in (out_r, err_r, res_r, pidfd):
        os.close(fd)
    return {
        "exit_code": os.waitstatus_to_exitcode(status),
        "cpu_ms": children_cpu_ms() - cpu_before,
        "wall_ms": elapsed_ms,
        "peak_memory_bytes": usage.ru_maxrss * 1024,
        "stdout": stdout.text(output_limit),
        "stdout_total": stdout.total,
        "stderr": stderr.text(),
        "stderr_total": stderr.total,
        "result": bytes(result.data),
        "killed_by": killed_by,
    }
