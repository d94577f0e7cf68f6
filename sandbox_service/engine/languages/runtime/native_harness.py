"""In-jail supervisor for non-Python programs. Standard library only; pid 1 of its jail.

It runs *commands*, never candidate code of its own: a compiler in the compile jail, the compiled
program (or an interpreter on the candidate's file) once per test in the run jail. Each command
gets a fresh process tree in its own session with rlimits (CPU, stack, files, open files), its
stdin from a file, stdout/stderr/result pipes read into bounded buffers, and a wall-clock
deadline. Afterwards every other process of the jail is killed (``kill(-1)`` from pid 1) and
reaped, so the CPU time and peak memory ``wait4`` reports cover the whole tree, and the work
directory is wiped so nothing of one test reaches the next.

fd 3 of every command is the *result pipe*: the language drivers write their completion marker or
structured error there, apart from the program's stdout. Expected outputs never enter the jail.

Protocol: newline-delimited JSON, as the Python harness speaks it. The supervisor writes
``{"event": "ready"}``, reads one job ``{"runs": [...], "workdir": ..., "ask_continue": ...}``
and answers one ``{"event": "run", ...}`` record per command, then ``{"event": "done"}``. With
``ask_continue`` it waits for ``continue``/``stop`` on stdin after each record.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

STDERR_KEEP = 64 << 10
RESULT_KEEP = 16 << 20
COLLECT_KEEP = 8 << 20
POST_KEEP = 1 << 20
POST_WALL_S = 10.0
_ADDRESS = re.compile(rb"0x[0-9a-fA-F]+")


class _Capture:
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


def _limit(run: dict[str, Any]) -> None:
    """Rlimits of one command, set in the child between fork and exec."""
    # SIGPROF at the limit ends most programs exactly; runtimes that handle SIGPROF and
    # SIGXCPU themselves (Go) meet the rlimit's SIGKILL a second later. (The rlimit and the
    # timer race when they coincide, and rusage may then show less than the limit.)
    cpu_s = math.ceil(run["cpu_ms"] / 1000.0) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    signal.setitimer(signal.ITIMER_PROF, run["cpu_ms"] / 1000.0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (run["nofile"], run["nofile"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (run["file_limit"], run["file_limit"]))
    resource.setrlimit(resource.RLIMIT_STACK, (run["stack_bytes"], run["stack_bytes"]))


def _exec_child(run: dict[str, Any], stdin_path: str, out_w: int, err_w: int, res_w: int) -> None:
    """In the forked child: wire fds 0-3, apply limits, exec. Never returns."""
    try:
        os.setsid()
        stdin_fd = os.open(stdin_path, os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        if res_w == 3:
            os.set_inheritable(3, True)
        else:
            os.dup2(res_w, 3)
        os.closerange(4, 1 << 16)
        os.chdir(run["cwd"])
        for ignored in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; exec keeps that
            signal.signal(ignored, signal.SIG_DFL)
        _limit(run)
        os.execve(run["argv"][0], run["argv"], run["env"])
    except BaseException as exc:
        os.write(2, f"crucible: cannot start {run['argv'][0]}: {exc}\n".encode())
    os._exit(127)


def _kill_tree(pid: int) -> None:
    """SIGKILL the command's processes: as pid 1 of a jail every process but this one, without
    a jail (``--insecure-no-sandbox``) the command's session."""
    try:
        if os.getpid() == 1:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_all() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def _drain_ready(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _execute(run: dict[str, Any], workdir: str) -> dict[str, Any]:
    """Run one command to completion (or its limit) and describe what happened."""
    stdin_path = "/dev/null"
    if run.get("stdin"):
        stdin_path = str(Path(workdir) / ".stdin")
        Path(stdin_path).write_text(run["stdin"], encoding="utf-8")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    cpu_before = _children_cpu_ms()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _exec_child(run, stdin_path, out_w, err_w, res_w)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    output_limit = run["output_limit"]
    stdout = _Capture(out_r, output_limit + 1)
    stderr = _Capture(err_r, STDERR_KEEP)
    result = _Capture(res_r, RESULT_KEEP)
    pidfd = os.pidfd_open(pid)
    open_fds = {out_r: stdout, err_r: stderr, res_r: result}
    deadline = started + run["wall_ms"] / 1000.0
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
            _kill_tree(pid)  # the command is gone but something it started holds a pipe
    _kill_tree(pid)
    _, status, usage = os.wait4(pid, 0)
    wall_ms = (time.monotonic() - started) * 1000.0
    _reap_all()
    for fd, capture in list(open_fds.items()):
        while _drain_ready(fd) and capture.read():
            pass
    for fd in (out_r, err_r, res_r, pidfd):
        os.close(fd)
    return {
        "event": "run",
        "exit_code": os.waitstatus_to_exitcode(status),
        "cpu_ms": _children_cpu_ms() - cpu_before,
        "wall_ms": wall_ms,
        "peak_memory_bytes": usage.ru_maxrss * 1024,
        "stdout": stdout.text(output_limit),
        "stdout_total": stdout.total,
        "stderr": stderr.text(),
        "stderr_total": stderr.total,
        "result": result.text(),
        "killed_by": killed_by,
    }


def _collect(directory: str) -> dict[str, str]:
    """Text of the files a command left in ``directory`` (coverage data), bounded in total."""
    found: dict[str, str] = {}
    budget = COLLECT_KEEP
    root = Path(directory)
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*")):
        if budget <= 0 or not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()[:budget]
        budget -= len(data)
        found[str(path.relative_to(root))] = data.decode("utf-8", "replace")
    return found


def _post(run: dict[str, Any], record: dict[str, Any], workdir: str) -> list[str]:
    """Trusted follow-up commands (coverage readers, address symbolisers) on what the test left.

    An argument ``{addresses}`` expands to the hex addresses on the line of ``stderr`` that
    starts with ``fault_marker``; a step with it is skipped when there is no such line."""
    outputs: list[str] = []
    marker = run.get("fault_marker", "")
    addresses: list[str] = []
    for line in record["stderr"].splitlines():
        if marker and line.startswith(marker):
            addresses = [a.decode() for a in _ADDRESS.findall(line.encode())]
    for step in run.get("post", []):
        argv: list[str] = []
        for arg in step["argv"]:
            argv += addresses if arg == "{addresses}" else [arg]
        if "{addresses}" in step["argv"] and not addresses:
            outputs.append("")
            continue
        follow = {
            **run,
            "argv": argv,
            "cwd": step.get("cwd", run["cwd"]),
            "stdin": "",
            "cpu_ms": POST_WALL_S * 1000.0,
            "wall_ms": POST_WALL_S * 1000.0,
            "output_limit": POST_KEEP,
        }
        outputs.append(_execute(follow, workdir)["stdout"])
    return outputs


def _wipe(path: Path) -> None:
    """Remove everything below ``path`` (the jail's writable tmpfs)."""
    for entry in path.iterdir():
        try:
            if entry.is_dir() and not entry.is_symlink():
                entry.chmod(0o700)
                _wipe(entry)
                entry.rmdir()
            else:
                entry.unlink()
        except OSError:
            pass


def _emit(record: dict[str, Any]) -> None:
    data = (json.dumps(record) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def _handle(job: dict[str, Any], commands: Any) -> None:
    workdir = job["workdir"]
    Path(workdir).mkdir(parents=True, exist_ok=True)
    for index, run in enumerate(job["runs"]):
        record = _execute(run, workdir)
        record["index"] = index
        if run.get("collect"):
            record["collected"] = _collect(run["collect"])
        if run.get("post"):
            record["post"] = _post(run, record, workdir)
        if job.get("wipe", True):
            _wipe(Path(workdir))
        _emit(record)
        if job.get("ask_continue") and commands.readline().strip() != b"continue":
            break
    _emit({"event": "done"})


def main() -> None:
    commands = sys.stdin.buffer
    _emit({"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    line = commands.readline()
    if line:
        _handle(json.loads(line), commands)


if __name__ == "__main__":
    main()
