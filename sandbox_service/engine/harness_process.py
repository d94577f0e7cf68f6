"""A running harness process (jailed or not) and the protocol spoken with it: jobs go in as
:func:`json_line` (the native harness) or :func:`marshal_frame` (the Python harness), records
come back as newline-delimited JSON.

Strict isolation starts one per execution; pooled isolation keeps several alive and sends them
job after job. Either way the trusted side only ever reads records the harness parent wrote:
the candidate's own output arrives inside those records, bounded by the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import marshal
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from crucible.sandbox_service.engine.jail import CGROUP_PARENT, cgroup_parent_dirs

# A record is at most the output limit plus the JSON around it; keep the reader's buffer above.
STREAM_LIMIT = 1 << 30
_NOISE = b"no version information available"


def json_line(job: dict[str, Any]) -> bytes:
    """A job as one line of JSON."""
    return (json.dumps(job) + "\n").encode()


def marshal_frame(job: dict[str, Any]) -> bytes:
    """A job as its length (8 bytes, little-endian) and marshal's bytes. Why marshal: both ends
    are the same CPython (python_runner.python_runtime), so code objects (assert tests) travel
    as they are, and the harness decodes a HumanEval job in about a quarter of JSON's time. Only
    in this direction: marshal is not safe on bytes an adversary made, and the harness parent
    runs in the jail, so what it sends back stays JSON."""
    data = marshal.dumps(job)
    return len(data).to_bytes(8, "little") + data


class HarnessCrashed(RuntimeError):
    """The harness parent died or spoke nonsense: the sandbox failed, not the program."""


class HarnessRefused(HarnessCrashed):
    """The harness started without a defence it must have (its seccomp guard,
    runtime/seccomp_guard.py): it is killed and never given a job."""


class HarnessProcess:
    """One harness process; not safe for concurrent jobs (one job at a time)."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        encode_job: Callable[[dict[str, Any]], bytes] = json_line,
    ) -> None:
        self._process = process
        self._encode_job = encode_job
        self.runtime = ""
        # Set when a job's ``done`` record says the harness found its process state altered
        # (limits raised, guards gone): its next job could not be trusted, so the pool retires it.
        self.retire_requested = False

    @classmethod
    async def start(
        cls,
        argv: list[str],
        cwd: str | None = None,
        encode_job: Callable[[dict[str, Any]], bytes] = json_line,
    ) -> HarnessProcess:
        """Start the harness, which reads jobs encoded by ``encode_job``, and read its
        ``ready`` record, which must say that its seccomp guard is in place
        (runtime/seccomp_guard.py), else HarnessRefused with its reason."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=STREAM_LIMIT,
            cwd=cwd,
            start_new_session=True,
        )
        harness = cls(process, encode_job)
        try:
            ready = await harness._read_record()
        except BaseException:
            await harness.kill()
            raise
        if ready.get("event") != "ready":
            await harness.kill()
            raise HarnessCrashed(f"harness did not start: {ready}")
        if ready.get("guarded") is not True:
            await harness.kill()
            reason = ready.get("unguarded") or "the harness did not report it"
            raise HarnessRefused(f"harness refused: its seccomp guard is not in place: {reason}")
        harness.runtime = f"CPython {ready.get('python', '?')}"
        return harness

    @property
    def pid(self) -> int:
        """Pid of the process started (nsjail itself when jailed)."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.returncode is None

    async def _stderr_tail(self) -> str:
        stream = self._process.stderr
        if stream is None:
            return ""
        with contextlib.suppress(asyncio.TimeoutError):
            data = await asyncio.wait_for(stream.read(1 << 16), timeout=1.0)
            lines = [line for line in data.splitlines() if _NOISE not in line]
            return b"\n".join(lines).decode("utf-8", "replace")[-2000:]
        return ""

    async def _read_record(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            code = await self._process.wait()
            raise HarnessCrashed(
                f"harness exited with code {code} mid-job; stderr: {await self._stderr_tail()}"
            )
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise HarnessCrashed(f"harness wrote a malformed record: {line[:200]!r}") from exc
        if not isinstance(record, dict):
            raise HarnessCrashed(f"harness wrote a non-object record: {line[:200]!r}")
        return record

    async def _send(self, payload: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(payload)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise HarnessCrashed("harness closed its input") from exc

    def send_nowait(self, job: dict[str, Any]) -> None:
        """Send a job without waiting for the pipe to take it (it is small; the transport keeps
        what the pipe cannot take yet); :meth:`run_job` with ``sent`` then reads its records.
        Raises HarnessCrashed when the harness is gone or its input closed."""
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing() or not self.alive:
            raise HarnessCrashed("harness closed its input")
        stdin.write(self._encode_job(job))

    async def run_job(
        self, job: dict[str, Any], *, sent: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Send a job (unless :meth:`send_nowait` did) and yield its records up to and
        including ``done``. When the job asks to be asked (``ask_continue``), the consumer must
        call :meth:`answer` after each test."""
        if not sent:
            await self._send(self._encode_job(job))
        while True:
            record = await self._read_record()
            yield record
            if record.get("event") == "done":
                self.retire_requested = bool(record.get("retire"))
                return

    async def answer(self, keep_going: bool) -> None:
        await self._send(b"continue\n" if keep_going else b"stop\n")

    async def kill(self) -> None:
        """Stop the jail: SIGTERM lets nsjail remove its cgroups; SIGKILL if it lingers."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), timeout=2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
                await self._process.wait()
        for stream in (self._process.stdin,):
            if stream is not None:
                stream.close()

    async def close(self) -> None:
        """End a harness that finished its work (strict mode: it exits by itself)."""
        try:
            await asyncio.wait_for(self._process.wait(), timeout=5.0)
        except TimeoutError:
            await self.kill()


def remove_stale_cgroups(parent: str = CGROUP_PARENT) -> int:
    """Remove the groups under ``parent`` left by jails that were killed before nsjail could
    clean up (only possible after SIGKILL). A group named after a live process belongs to a jail
    that is running or still being set up (maybe by another server on this host), so it is
    kept; so is a group that still holds processes (rmdir fails). Returns how many were
    removed."""
    try:
        dirs = cgroup_parent_dirs(parent)
    except (RuntimeError, OSError):
        return 0
    removed = 0
    for directory in dirs:
        for group in directory.glob("NSJAIL.*"):
            pid = group.name.removeprefix("NSJAIL.")
            if pid.isdigit() and Path(f"/proc/{pid}").exists():
                continue
            with contextlib.suppress(OSError):
                group.rmdir()
                removed += 1
    return removed
