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
import signal
import sys
import time
from pathlib import Path
from typing import Any

COLLECT_KEEP = 8 << 20
POST_KEEP = 1 << 20
POST_WALL_S = 10.0
_ADDRESS = re.compile(rb"0x[0-9a-fA-F]+")


def _sibling(name: str) -> Any:
    """The harness file ``name`` beside this one (``supervise``, shared with the Python harness;
    ``seccomp_guard``); loaded by path because ``-I`` leaves this directory off ``sys.path``."""
    import importlib.util

    here = Path(__file__).resolve()
    path = here.with_name(name + here.suffix)  # bytecode when this file runs as bytecode
    spec = importlib.util.spec_from_file_location(f"crucible_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_supervise = _sibling("supervise")
_guard = _sibling("seccomp_guard")


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


def _execute(run: dict[str, Any], workdir: str) -> dict[str, Any]:
    """Run one command to completion (or its limit) and describe what happened."""
    stdin_path = "/dev/null"
    if run.get("stdin"):
        stdin_path = str(Path(workdir) / ".stdin")
        Path(stdin_path).write_text(run["stdin"], encoding="utf-8")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    cpu_before = _supervise.children_cpu_ms()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _exec_child(run, stdin_path, out_w, err_w, res_w)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    watched = _supervise.supervise(
        pid,
        (out_r, err_r, res_r),
        started=started,
        cpu_before=cpu_before,
        wall_ms=run["wall_ms"],
        output_limit=run["output_limit"],
    )
    return {
        "event": "run",
        **watched,
        "result": watched["result"].decode("utf-8", "replace"),
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
    # The same guard as the Python harness's: the commands run as this process's uid, and
    # without it a compiled program could take this process's stdout (the verdict channel)
    # with pidfd_getfd and write a forged record, or lower its limits. Reported, never
    # ignored: the trusted side refuses a supervisor without it.
    unguarded = _guard.install()
    commands = sys.stdin.buffer
    ready = {"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]}
    _emit({**ready, "guarded": not unguarded, "unguarded": unguarded})
    line = commands.readline()
    if line:
        _handle(json.loads(line), commands)


if __name__ == "__main__":
    main()
