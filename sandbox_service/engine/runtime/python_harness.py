"""In-jail harness for Python programs. Standard library only; runs as pid 1 of the jail.

Why it is shaped like this:

* The harness process (the *parent*) never executes candidate code. It compiles the candidate
  (a syntax error is found without running anything), then forks a fresh *child* per test. The
  child runs the candidate and the test; the parent observes it from outside: exit status,
  kernel-measured CPU time and peak memory (``wait4``), captured pipes. Globals, signal handlers,
  threads and at-fork hooks of one test cannot reach the next.
* With ``tests_share_process`` (the job's ``shared``) one child runs the tests in turn, as
  HumanEval's harness does (:func:`_shared_records`): what a test changes in the process (globals,
  modules, threads, files) is seen by the tests after it, and each test is still watched and
  limited on its own. A test that ends the child (a limit, a crash, an exit) is reported as in a
  child of its own, and the next test starts in a fresh child, as the first did.
* After every test the parent, being pid 1 of its pid namespace, kills every other process in the
  namespace (``kill(-1, SIGKILL)``), reaps them all and wipes the jail's ``/tmp``. Signals the
  candidate sends to pid 1 are dropped by the kernel because pid 1 installs no handlers (not even
  Python's SIGINT one). The parent makes itself non-dumpable, so processes of its uid cannot take
  its descriptors (``pidfd_getfd``) or memory, and installs a seccomp filter that every test
  inherits: calls that would change another process (``prlimit``, ``setpriority``,
  ``sched_setaffinity``, ...) or make namespaces are refused. Its own limits, priority and
  affinity are still checked after every test (the filter exists on x86-64 and aarch64 only),
  restored where possible and otherwise reported as tampering, which ends the job and retires a
  pooled worker.
* Expected outputs never enter the jail: call tests report the returned value as JSON and stdio
  tests report stdout; the trusted side compares. Only assert tests are decided in here. Their
  code runs with builtins and standard modules as they were before the candidate ran, and with
  comparisons, arithmetic and truth tests rewritten (by the trusted side, which sends the
  compiled code: engine/strict_tests.py) so that no code of the candidate's runs inside them
  (the "always equal" reward hack, also hidden in containers or wrappers).
* The child's result record carries a random per-test token and is written with functions
  captured before the candidate ran (the C JSON encoder, ``os.write``); the parent accepts only
  the record that carries the token, so bytes the candidate writes to inherited descriptors and
  patches of ``json``, ``os`` or ``builtins`` cannot forge a pass. The harness is a single file and
  is not importable by the candidate (``__main__`` is replaced in the child); its functions look
  builtins up in a private copy. A program that introspects its own interpreter (frames, ``gc``,
  ``ctypes``, trace functions) can still reach the harness's objects in its process: that is
  beyond in-process defences (docs/security.md).

Protocol: stdin carries jobs, each its length (8 bytes, little-endian) and marshal's bytes
(engine/harness_process.marshal_frame: assert tests arrive as code objects), and the answers
``continue``/``stop`` of a job that asks to be asked; stdout carries ``{"event": ...}`` records,
newline-delimited JSON. With ``--serve`` the harness handles jobs until stdin closes (pooled
workers); otherwise one job.
"""

from __future__ import annotations

import builtins
import gc
import json
import marshal
import os
import resource
import signal
import sys
import time
from collections.abc import Generator
from typing import Any

# Functions defined below resolve builtins in this private copy: a candidate that patches the
# builtins module (``builtins.isinstance = ...``) changes nothing the harness relies on.
globals()["__builtins__"] = dict(builtins.__dict__)


def _sibling(name: str) -> Any:
    """The harness file ``name`` beside this one, loaded by path because ``-I`` leaves this
    directory off ``sys.path`` (and so the candidate cannot import it either); as bytecode when
    this file runs as bytecode. Each gets its own private copy of the builtins."""
    import importlib.util

    suffix = os.path.splitext(__file__)[1]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + suffix)
    spec = importlib.util.spec_from_file_location(f"crucible_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    vars(module)["__builtins__"] = dict(builtins.__dict__)
    spec.loader.exec_module(module)
    return module


_supervise = _sibling("supervise")
_strict = _sibling("python_strict")
_child = _sibling("python_child")
_guard = _sibling("seccomp_guard")

SOLUTION_NAME = "solution.py"
_write = os.write
_exit = os._exit


def _limit_child(job: dict[str, Any], tests: int = 1) -> None:
    """Limits of a child that runs ``tests`` tests: the CPU rlimit's hard limit covers them all
    (a shared child moves the soft one per test: python_child._arm)."""
    cpu_s = job["cpu_ms"] / 1000.0
    soft = int(cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft * tests + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["file_limit"], job["file_limit"]))
    signal.setitimer(signal.ITIMER_PROF, cpu_s)


def _quietly(function: Any, *args: Any, **kwargs: Any) -> bool:
    """Call ``function``; False when it failed with OSError or ValueError."""
    try:
        function(*args, **kwargs)
    except (OSError, ValueError):
        return False
    return True


_WORKDIR_MODES: dict[str, int] = {}


def _wipe(path: str) -> bool:
    """Empty directory ``path`` whatever a test left there (read-only modes, trees deeper than a
    path can name) and restore its mode; False if something could not be removed. Iterative:
    each pass moves the subdirectories of top-level directories up to ``path`` and deletes the
    rest, so only two directory descriptors are ever open. A pass that found only files and
    removed them all is the last: every process of the jail has been killed and reaped before
    (supervise), so nothing can have added an entry meanwhile."""
    os.chmod(path, _WORKDIR_MODES[path])
    top = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    moved = 0
    try:
        while True:
            entries = list(os.scandir(top))
            if not entries:
                return True
            progress = False
            emptied = True
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    removed = _quietly(os.unlink, entry.name, dir_fd=top)
                    progress |= removed
                    emptied &= removed
                    continue
                emptied = False
                _quietly(os.chmod, entry.name, 0o700, dir_fd=top)
                try:
                    inner = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=top)
                except OSError:
                    continue
                try:
                    for child in list(os.scandir(inner)):
                        moved += 1
                        if child.is_dir(follow_symlinks=False):
                            target = f".crucible-wipe-{moved}"
                            progress |= _quietly(
                                os.rename, child.name, target, src_dir_fd=inner, dst_dir_fd=top
                            )
                        else:
                            progress |= _quietly(os.unlink, child.name, dir_fd=inner)
                finally:
                    os.close(inner)
                progress |= _quietly(os.rmdir, entry.name, dir_fd=top)
            if emptied:
                return True
            if not progress:
                return False
    finally:
        os.close(top)


# A set first: some limits have two names (RLIMIT_OFILE is RLIMIT_NOFILE).
_RLIMITS = sorted({value for name, value in vars(resource).items() if name.startswith("RLIMIT_")})
_STATE_NAMES = ("resource limits", "priority", "scheduling policy", "CPU affinity")


def _own_state() -> tuple[Any, ...]:
    """What a process of the same uid can change about this one from outside."""
    return (
        [resource.getrlimit(limit) for limit in _RLIMITS],
        os.getpriority(os.PRIO_PROCESS, 0),
        os.sched_getscheduler(0),
        sorted(os.sched_getaffinity(0)),
    )


_BASELINE: dict[str, tuple[Any, ...]] = {}


def _tampering() -> str:
    """Restore what a test changed about this process; name what could not be restored."""
    before = _BASELINE["state"]
    if _own_state() == before:
        return ""
    limits, priority, policy, cpus = before
    for limit, value in zip(_RLIMITS, limits, strict=True):
        _quietly(resource.setrlimit, limit, value)
    _quietly(os.setpriority, os.PRIO_PROCESS, 0, priority)
    _quietly(os.sched_setscheduler, 0, policy, os.sched_param(0))
    _quietly(os.sched_setaffinity, 0, cpus)
    after = _own_state()
    return ", ".join(
        name for name, old, new in zip(_STATE_NAMES, before, after, strict=True) if old != new
    )


def _child_record(data: bytes, token: str) -> dict[str, Any] | None:
    """The record the harness code in the child wrote: the one line that carries the token."""
    for line in data.decode("utf-8", "replace").splitlines():
        if token not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if type(record) is dict and record.pop("token", None) == token:
            return record
    return None


def _forked_records(
    job: dict[str, Any], code: Any, workdir: str
) -> Generator[tuple[dict[str, Any], bool], None, None]:
    """Every test in a child of its own, with /tmp wiped between tests; each record with
    whether this process may go on (_after_test)."""
    last = len(job["tests"]) - 1
    for index in range(last + 1):
        record = _run_test(job, index, code, workdir)
        yield record, _after_test(job, record, wipe=index < last)


def _after_test(job: dict[str, Any], record: dict[str, Any], *, wipe: bool) -> bool:
    """Restore what the test changed about this process, and with ``wipe`` give the next test
    /tmp as the first found it. False when this process should stop: it was tampered with
    (said in the record) or a file could not be removed."""
    tampered = _tampering()
    if tampered:
        record["tampered"] = tampered
        return False
    if not wipe:
        return True
    healthy = _wipe(job["workdir"])
    _write_solution(job)
    return healthy


def _child_fds(stdin_fd: int, out_w: int, err_w: int, keep: tuple[int, ...]) -> None:
    """In a forked child: stdin, stdout and stderr in place, every other descriptor closed but
    ``keep`` (ascending)."""
    os.setsid()
    os.dup2(stdin_fd, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    low = 3
    for fd in keep:
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _run_test(job: dict[str, Any], index: int, code: Any, workdir: str) -> dict[str, Any]:
    test = job["tests"][index]
    stdin_path = "/dev/null"
    if test["kind"] == "stdio":
        stdin_path = os.path.join(workdir, ".stdin")
        _write_file(stdin_path, test["stdin"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    token = os.urandom(16).hex()
    cpu_before = _supervise.children_cpu_ms()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            _child_fds(os.open(stdin_path, os.O_RDONLY), out_w, err_w, (res_w,))
            os.chdir(workdir)
            _limit_child(job)
            _child.run_child(job, test, code, res_w, token, _strict.test_globals)
        except BaseException as exc:
            _quietly(_write, 2, f"harness child failed: {type(exc).__name__}\n".encode())
        finally:
            _exit(70)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    watched = _supervise.supervise(
        pid,
        (out_r, err_r, res_r),
        started=started,
        cpu_before=cpu_before,
        wall_ms=job["wall_ms"],
        output_limit=job["output_limit"],
    )
    return _test_record(index, watched, token)


def _test_record(index: int, watched: dict[str, Any], token: str) -> dict[str, Any]:
    return {
        "event": "test",
        "index": index,
        **{key: value for key, value in watched.items() if key != "result"},
        "child": _child_record(watched["result"], token),
    }


def _fork_shared(job: dict[str, Any], first: int, code: Any, tokens: list[str]) -> Any:
    """A shared child for tests ``first``, ``first + 1``, ... (python_child.run_shared), as a
    ``supervise.SharedChild``."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    go_r, go_w = os.pipe()
    cpu_before = _supervise.children_cpu_ms()
    pid = os.fork()
    if pid == 0:
        try:
            keep = tuple(sorted((res_w, go_r)))
            _child_fds(os.open("/dev/null", os.O_RDONLY), out_w, err_w, keep)
            os.chdir(job["workdir"])
            _limit_child(job, len(job["tests"]) - first)
            fds = (res_w, go_r)
            _child.run_shared(job, first, code, fds, tokens, _strict.test_globals)
        except BaseException as exc:
            _quietly(_write, 2, f"harness child failed: {type(exc).__name__}\n".encode())
        finally:
            _exit(70)
    for fd in (out_w, err_w, res_w, go_r):
        os.close(fd)
    return _supervise.SharedChild(pid, (out_r, err_r, res_r), go_w, cpu_before=cpu_before)


def _shared_records(
    job: dict[str, Any], code: Any, workdir: str
) -> Generator[tuple[dict[str, Any], bool], None, None]:
    """Every test in one shared child after another (the module docstring says what they
    share), each record with whether this process may go on (_after_test). A test that ends
    the child is followed by a fresh child, with /tmp wiped first as between forked tests;
    closing this generator ends a child that waits for a test (the job stopped early)."""
    tests = job["tests"]
    last = len(tests) - 1
    tokens = [os.urandom(16).hex() for _ in tests]
    index = 0
    while index <= last:
        child = _fork_shared(job, index, code, tokens)
        try:
            while child.alive and index <= last:
                watched = child.test(
                    tokens[index],
                    wall_ms=job["wall_ms"],
                    output_limit=job["output_limit"],
                    last=index == last,
                )
                record = _test_record(index, watched, tokens[index])
                reported = record["child"] or {}
                peak_kb = reported.pop("maxrss_kb", 0)
                if child.alive:
                    record["peak_memory_bytes"] = int(peak_kb) * 1024 if type(peak_kb) is int else 0
                yield record, _after_test(job, record, wipe=not child.alive and index < last)
                index += 1
        finally:
            child.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# What a job's records may hold in memory before they are written: a bound on the harness's
# memory, far above what most jobs' records take together.
_HOLD_CHARACTERS = 1 << 20


class _Outbox:
    """A job's records, written together: the trusted side reads each write with one wake-up
    of its event loop (tens of microseconds of its CPU), so a job whose records nobody waits
    for (no ``ask_continue``) costs one write whatever its number of tests, unless its records
    pass ``_HOLD_CHARACTERS`` (then they go out in several)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.characters = 0

    def add(self, record: dict[str, Any], *, send: bool = False) -> None:
        """Hold ``record``; with ``send`` (an answer is awaited, or the job is done) write
        everything held."""
        line = _child.dumps(record) + "\n"
        self.lines.append(line)
        self.characters += len(line)
        if send or self.characters > _HOLD_CHARACTERS:
            _write_all(1, "".join(self.lines).encode())
            self.lines.clear()
            self.characters = 0


def _write_file(path: str, text: str) -> None:
    """``open(path, "w").write(text)`` in plain system calls: a text file object costs more
    than the write (a tenth of a millisecond of every job here)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        _write_all(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _write_solution(job: dict[str, Any]) -> None:
    _write_file(job["path"], job["source"])


def _compile_candidate(job: dict[str, Any], outbox: _Outbox) -> Any:
    _write_solution(job)
    try:
        return compile(job["source"], job["path"], "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # too deep: not syntax
        outbox.add({"event": "compile_error", **_child.describe(exc)})
        return None


_SLIPCOVER: list[Any] = []


def _with_line_probes(code: Any) -> tuple[Any, Any]:
    """The candidate's code with a probe at every line start, and the slipcover object the
    probes record into (``newly_seen``/``all_seen``: path -> lines).

    Why probes and not a trace function: probes are C calls placed in the candidate's own code
    objects only, so the test code, the harness and the interpreter's eval loop run untraced.
    coverage.py's C tracer made HumanEval/75's hot loop about 4x slower here, the probes about 2x.
    They are put in by the parent, which never runs them, so every forked child starts with no
    line seen. The sets are slipcover's own attributes: the version is pinned and
    ``tests/sandbox`` checks the lines reported.
    """
    if not _SLIPCOVER:
        _load_slipcover()
        _strict.snapshot()  # slipcover's classes and modules predate every candidate too
        gc.freeze()
    probes = _SLIPCOVER[0].Slipcover(immediate=True)
    return probes.instrument(code), probes


def _drop_line_probes(job: dict[str, Any]) -> None:
    """Let the job's instrumented code and its slipcover object be freed. Why by hand: the
    object keeps every code object it instrumented (``instrumented``, ``code2index``,
    ``replace_map``), and those code objects hold its probes, which hold the object again; the
    probes are C objects the garbage collector cannot see through, so without this the cycle
    stayed, some 6 KB per HumanEval job, and every fork of the worker grew dearer with it
    (about 0.04 ms of CPU per MiB)."""
    probes = job.pop("line_probes", None)
    if probes is not None:
        for held in (probes.instrumented, probes.code2index, probes.replace_map):
            held.clear()


def _load_slipcover() -> None:
    """Load slipcover's probe module ``slipcover.slipcover`` alone.

    Why not ``import slipcover``: the package's ``__init__`` also loads its report writers,
    import hooks and fuzzing helper (``tempfile``, ``random``, ``inspect``, ...), and the module
    itself imports ``threading`` for one ``RLock``. ``threading`` and ``random`` register at-fork
    hooks that run Python in every forked test: with them a fork and exit of this process cost
    about twice as much CPU (0.95 against 0.45 ms here), without them the preload adds about
    0.05 ms. So the package's ``__init__`` is not run, and while the module loads ``threading``
    stands for the C lock it would have handed out (``threading.RLock`` is ``_thread.RLock``).

    The module also imports its XML and LCOV report writers and ``pathlib``, which only its
    report and source-finding functions use, never the probes (``Slipcover(...)``,
    ``instrument``, the seen-line sets): with them come ``xml.dom.minidom``, ``dataclasses``,
    ``inspect`` and ``urllib``, 1.6 MB that every forked test copies page tables for and frees.
    Stand-ins without them take their place while the module loads: the names it imports from
    them are None in it. None of the stand-ins stays in ``sys.modules``: a program that imports
    them gets the real ones.
    """
    import _thread
    import importlib
    import importlib.util
    import types

    spec = importlib.util.find_spec("slipcover")
    if spec is None:
        raise ImportError("slipcover is not on the harness's path (--site)")
    stand_ins: dict[str, dict[str, Any]] = {
        "threading": {"RLock": _thread.RLock},
        "pathlib": {"Path": None},
        "slipcover.xmlreport": {"XmlReporter": None},
        "slipcover.lcovreport": {"LcovReporter": None},
    }
    stood_in = [name for name in stand_ins if name not in sys.modules]
    for name in stood_in:
        module = types.ModuleType(name)
        vars(module).update(stand_ins[name])
        sys.modules[name] = module
    sys.modules["slipcover"] = importlib.util.module_from_spec(spec)
    try:
        probes = importlib.import_module("slipcover.slipcover")
    finally:
        for name in ("slipcover", *stood_in):
            del sys.modules[name]
    _SLIPCOVER.append(probes)


def _handle(job: dict[str, Any], commands: Any) -> bool:
    """Run one job; False when this process should not serve another (a test tampered with it
    or left files that could not be removed)."""
    workdir = job["workdir"]
    if workdir not in _WORKDIR_MODES:  # made once: wipes empty it, never remove it
        os.makedirs(workdir, exist_ok=True)
        _WORKDIR_MODES[workdir] = os.stat(workdir).st_mode & 0o7777
    job["path"] = os.path.join(workdir, SOLUTION_NAME)
    outbox = _Outbox()
    code = _compile_candidate(job, outbox)
    if code is not None and job.get("coverage"):
        code, job["line_probes"] = _with_line_probes(code)
    healthy = True
    if code is not None:
        ask = bool(job.get("ask_continue"))
        records = (_shared_records if job.get("shared") else _forked_records)(job, code, workdir)
        try:
            for record, healthy in records:
                outbox.add(record, send=ask)
                if ask and commands.readline().strip() != b"continue":
                    break
                if not healthy:
                    break
        finally:
            records.close()
    _drop_line_probes(job)
    healthy = healthy and _wipe(workdir)
    outbox.add({"event": "done", "retire": not healthy}, send=True)
    return healthy


def _next_job(commands: Any) -> dict[str, Any] | None:
    """The next job from the trusted side, None when it closed stdin."""
    header = commands.read(8)
    if len(header) < 8:
        return None
    job: dict[str, Any] = marshal.loads(commands.read(int.from_bytes(header, "little")))
    return job


# Standard modules that programs often import (HumanEval's: copy, string; contest programs':
# bisect, heapq), and random's C parts (not random itself: its at-fork hook would run Python in
# every forked test), loaded by a serving harness before its first fork. A forked test that
# imports one of them otherwise runs the import system for it, 0.3-1.7 ms of CPU each; keeping
# them makes the image 0.3 MB larger, which costs no fork a measurable difference.
PRELOADED = ("bisect", "copy", "heapq", "string", "_random", "_sha512")


def _warm_typing() -> None:
    """Make the typing aliases programs' annotations most often name (``List[int]``,
    ``Optional[str]``, ``Tuple[float, float]``, ...), so that a forked test finds them in
    typing's caches. Why: an alias typing has not made yet is made by its Python code in the
    test's child, which copies some 50 of this process's pages there (a tenth of a millisecond
    of CPU for a program annotated with ``List[float]``, as 26 of HumanEval's 164 are)."""
    import typing

    form = {name: getattr(typing, name) for name in ("Dict", "List", "Optional", "Set", "Tuple")}
    for kind in (int, float, str, bool, typing.Any):
        for name in ("List", "Optional", "Set"):
            form[name][kind]
        form["Tuple"][kind, kind]
        form["Dict"][str, kind]
    form["List"][form["List"][int]]
    form["Tuple"][int, ...]


def prepare_image(args: list[str]) -> str:
    """Make this process the image every test is forked from, as the command line ``args``
    asks (the harness's own: ``--serve`` preloads for a pooled worker); returns why its seccomp
    guard is not in place ("" when it is). benchmarks/request_floor.py forks this image too, to
    measure what a fork and exit of it cost."""
    # As pid 1, a signal with the default disposition sent from inside the jail is dropped;
    # Python's own SIGINT handler would let a test's os.kill(1, SIGINT) end the harness.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    unguarded: str = _guard.install()
    for option in ("--site", "--packages"):  # slipcover's; then what programs may import
        if option in args:
            sys.path.append(args[args.index(option) + 1])
    if "--line-probes" in args:
        # Loaded by every pooled worker, used or not (unless the server says otherwise:
        # EngineConfig.preload_line_probes): the 2 MB it adds make every fork and exit a little
        # dearer (about 0.1 ms of CPU per test; _load_slipcover keeps its at-fork hooks out),
        # but a test's CPU time must not depend on whether its worker happened to serve a
        # coverage job before (CodeDPO compares programs by CPU time).
        _load_slipcover()
    if "--serve" in args:
        for name in PRELOADED:
            __import__(name)
        _warm_typing()
        # 1.5 ms to load ctypes, against some 0.15 ms of CPU in every forked test.
        _strict.watch_versions()
    _strict.snapshot()
    _BASELINE["state"] = _own_state()
    # What exists now lives as long as this process: keep the garbage collector of every forked
    # test from walking it (and so copying its pages on write).
    gc.freeze()
    return unguarded


def main() -> None:
    args = sys.argv[1:]
    serve = "--serve" in args
    unguarded = prepare_image(args)
    commands = sys.stdin.buffer
    # Without its guard the harness would serve unprotected: it says so, and the trusted side
    # refuses it (harness_process.py).
    ready = {"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]}
    _Outbox().add({**ready, "guarded": not unguarded, "unguarded": unguarded}, send=True)
    while True:
        job = _next_job(commands)
        if job is None or not _handle(job, commands) or not serve:
            return


if __name__ == "__main__":
    main()
