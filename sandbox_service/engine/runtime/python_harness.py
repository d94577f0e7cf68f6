"""In-jail harness for Python programs. Standard library only; runs as pid 1 of the jail.

Why it is shaped like this:

* The harness process (the *parent*) never executes candidate code. It compiles the candidate
  (a syntax error is found without running anything), then forks a fresh *child* per test. The
  child runs the candidate and the test; the parent observes it from outside: exit status,
  kernel-measured CPU time and peak memory (``wait4``), captured pipes. Globals, signal handlers,
  threads and at-fork hooks of one test cannot reach the next.
* After every test the parent, being pid 1 of its pid namespace, kills every other process in the
  namespace (``kill(-1, SIGKILL)``), reaps them all and wipes the jail's ``/tmp``, so background
  processes and files do not outlive the test. Signals the candidate sends to pid 1 are ignored by
  the kernel (pid 1 installs no handlers).
* Expected outputs never enter the jail: call tests report the returned value as JSON and stdio
  tests report stdout; the trusted side compares. Only assert tests are decided in here, and
  their test code runs with a pristine copy of the builtins and an equality that does not trust
  objects of classes the candidate defined (the "always equal" reward hack).
* Results travel on the parent's stdout, which the child cannot reach: the child's fds 0-2 are
  replaced, every other fd is closed and the jail has no ``/proc``.

Protocol: newline-delimited JSON. stdin carries jobs; stdout carries ``{"event": ...}`` records.
With ``--serve`` the harness handles jobs until stdin closes (pooled workers); otherwise one job.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
from typing import Any

SOLUTION_NAME = "solution.py"
MODULE_NAME = "solution"
STDERR_KEEP = 64 << 10
RECORD_KEEP = 16 << 20
EQ_NAME = "__crucible_eq__"

_PRISTINE_BUILTINS = dict(builtins.__dict__)
_write = os.write
_dumps = json.dumps
_exit = os._exit
_PLAIN_TYPES = (int, float, complex, bool, str, bytes, type(None))
_CONTAINER_TYPES = (list, tuple, dict, set, frozenset)


# ----------------------------------------------------------------------------- child side


def _untrusted_class(value: object) -> bool:
    """True for instances (also nested in builtin containers) of candidate-defined classes."""
    stack, seen = [value], 0
    while stack and seen < 100_000:
        item = stack.pop()
        seen += 1
        kind = type(item)
        if kind in _PLAIN_TYPES:
            continue
        if kind in _CONTAINER_TYPES:
            stack.extend(item.items() if kind is dict else item)  # type: ignore[attr-defined,arg-type]
            continue
        if getattr(kind, "__module__", None) in (MODULE_NAME, "__main__"):
            return True
    return False


def _strict_eq(left: object, right: object) -> bool:
    """``==`` for test code: a candidate-defined class only equals an object of its own class."""
    if (_untrusted_class(left) or _untrusted_class(right)) and type(left) is not type(right):
        return False
    return bool(left == right)


class _EqRewriter(ast.NodeTransformer):
    """Rewrites ``a == b`` in test code to ``__crucible_eq__(a, b)``."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            call = ast.Call(
                func=ast.Name(id=EQ_NAME, ctx=ast.Load()),
                args=[node.left, node.comparators[0]],
                keywords=[],
            )
            return ast.copy_location(call, node)
        return node


def _compile_test(code: str, index: int) -> Any:
    tree = _EqRewriter().visit(ast.parse(code, filename=f"<test {index}>"))
    return compile(ast.fix_missing_locations(tree), f"<test {index}>", "exec")


def _plain_json(value: object) -> str:
    """JSON of a returned value, refusing anything but builtin data (no candidate code runs)."""

    def convert(item: object, depth: int) -> object:
        if depth > 200:
            raise TypeError("nested too deeply")
        kind = type(item)
        if kind in (int, float, bool, str, type(None)):
            return item
        if kind in (list, tuple):
            return [convert(x, depth + 1) for x in item]  # type: ignore[attr-defined]
        if kind is dict:
            out = {}
            for key, val in item.items():  # type: ignore[attr-defined]
                if type(key) is not str:
                    raise TypeError(f"dict key of type {type(key).__name__}")
                out[key] = convert(val, depth + 1)
            return out
        raise TypeError(f"a value of type {kind.__name__}")

    return _dumps(convert(value, 0))


def _frames(exc: BaseException) -> list[list[Any]]:
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == __file__:
            continue
        frames.append([frame.filename, frame.lineno or 0, frame.name, frame.line or ""])
    return frames


def _describe(exc: BaseException) -> dict[str, Any]:
    try:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    except BaseException:  # a candidate-defined __str__ may raise anything
        message = "<unprintable message>"
    info: dict[str, Any] = {
        "exc_type": type(exc).__name__,
        "message": message[:4096],
        "frames": _frames(exc),
    }
    if isinstance(exc, SyntaxError):
        info["syntax"] = {"lineno": exc.lineno or 0, "filename": exc.filename or ""}
    return info


def _resolve(namespace: dict[str, Any], dotted: str) -> Any:
    head, _, attr = dotted.partition(".")
    target = namespace[head]
    if attr:
        target = getattr(target() if isinstance(target, type) else target, attr)
    return target


def _run_child(job: dict[str, Any], test: dict[str, Any], code: Any, result_fd: int) -> None:
    """Runs in the forked child: the candidate, then the test. Never returns."""
    record: dict[str, Any] = {"outcome": "ok"}
    collector = job.get("collector")
    if collector is not None:
        collector.start()
    kind = test["kind"]
    namespace: dict[str, Any] = {
        "__name__": "__main__" if kind == "stdio" else MODULE_NAME,
        "__file__": job["path"],
        "__builtins__": builtins,
    }
    try:
        exec(code, namespace)
        if kind == "assert":
            test_globals = dict(namespace)
            test_globals["__builtins__"] = dict(_PRISTINE_BUILTINS)
            test_globals[EQ_NAME] = _strict_eq
            exec(test["compiled"], test_globals)
        elif kind == "call":
            value = _resolve(namespace, test["function"])(*json.loads(test["args_json"]))
            record["value"] = value
    except SystemExit as exc:
        code_ = exc.code
        if kind == "stdio" and (code_ is None or code_ == 0):
            record["exit_code"] = 0
        else:
            record = {"outcome": "exception", **_describe(exc)}
            record["exit_code"] = code_ if isinstance(code_, int) else 1
    except BaseException as exc:
        record = {"outcome": "exception", **_describe(exc)}
        frames = record["frames"]
        if type(exc) is AssertionError and frames and frames[-1][0].startswith("<test "):
            record["outcome"] = "assert_failed"
    if collector is not None:
        collector.stop()
        record["lines"] = sorted(collector.data.get(job["path"], ()))
    if "value" in record:
        try:
            record["value_json"] = _plain_json(record.pop("value"))
        except (TypeError, ValueError, RecursionError) as exc:
            record["unserialisable"] = str(exc)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        record.setdefault("flush_failed", True)
    data = (_dumps(record) + "\n").encode()
    view = memoryview(data)
    while view:
        written = _write(result_fd, view)
        view = view[written:]
    _exit(0)


# ---------------------------------------------------------------------------- parent side


def _limit_child(job: dict[str, Any]) -> None:
    cpu_s = job["cpu_ms"] / 1000.0
    soft = int(cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["file_limit"], job["file_limit"]))
    signal.setitimer(signal.ITIMER_PROF, cpu_s)


def _wipe(path: str, keep: set[str]) -> None:
    """Remove everything below ``path`` except ``keep`` (names directly in ``path``)."""
    for entry in os.scandir(path):
        if entry.name in keep:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                _wipe(entry.path, set())
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _kill_tree(pid: int) -> None:
    """SIGKILL the test's processes. As pid 1 of a jail that is every process but this one;
    without a jail (``--insecure-no-sandbox``) only the test's session can be reached."""
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


class _Capture:
    """Reads a pipe into a bounded buffer."""

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


def _run_test(job: dict[str, Any], index: int, code: Any, workdir: str) -> dict[str, Any]:
    test = job["tests"][index]
    stdin_path = "/dev/null"
    if test["kind"] == "stdio":
        stdin_path = os.path.join(workdir, ".stdin")
        with open(stdin_path, "w", encoding="utf-8") as handle:
            handle.write(test["stdin"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    cpu_before = _children_cpu_ms()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            stdin_fd = os.open(stdin_path, os.O_RDONLY)
            os.dup2(stdin_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.closerange(3, res_w)
            os.closerange(res_w + 1, 1 << 16)
            os.chdir(workdir)
            _limit_child(job)
            _run_child(job, test, code, res_w)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(70)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    output_limit = job["output_limit"]
    stdout = _Capture(out_r, output_limit + 1)
    stderr = _Capture(err_r, STDERR_KEEP)
    result = _Capture(res_r, RECORD_KEEP)
    pidfd = os.pidfd_open(pid)
    open_fds = {out_r: stdout, err_r: stderr, res_r: result}
    deadline = started + job["wall_ms"] / 1000.0
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
            # The test's process is gone but something it started still holds a pipe.
            _kill_tree(pid)
    _kill_tree(pid)
    _, status, usage = os.wait4(pid, 0)
    wall_ms = (time.monotonic() - started) * 1000.0
    _reap_all()
    for fd, capture in list(open_fds.items()):
        while _drain_ready(fd) and capture.read():
            pass
    for fd in (out_r, err_r, res_r, pidfd):
        os.close(fd)
    cpu_ms = _children_cpu_ms() - cpu_before
    child = None
    if result.data:
        try:
            child = json.loads(bytes(result.data).decode("utf-8", "replace").splitlines()[0])
        except (ValueError, IndexError):
            child = None
    return {
        "event": "test",
        "index": index,
        "exit_code": os.waitstatus_to_exitcode(status),
        "cpu_ms": cpu_ms,
        "wall_ms": wall_ms,
        "peak_memory_bytes": usage.ru_maxrss * 1024,
        "stdout": bytes(stdout.data[:output_limit]).decode("utf-8", "replace"),
        "stdout_total": stdout.total,
        "stderr": bytes(stderr.data).decode("utf-8", "replace"),
        "stderr_total": stderr.total,
        "killed_by": killed_by,
        "child": child,
    }


def _drain_ready(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _emit(record: dict[str, Any]) -> None:
    data = (_dumps(record) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def _compile_candidate(job: dict[str, Any]) -> Any:
    with open(job["path"], "w", encoding="utf-8") as handle:
        handle.write(job["source"])
    try:
        return compile(job["source"], job["path"], "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        _emit({"event": "compile_error", **_describe(exc)})
        return None


_COLLECTORS: dict[str, Any] = {}


def _collector(path: str) -> Any:
    """coverage.py's C-tracer collector for ``path``, set up once in the parent.

    ``Coverage.start()`` costs ~6 ms and ``get_data()`` ~1.5 ms (it builds a SQLite database);
    the collector inside starts and stops in microseconds and holds the lines in a dict. It is
    coverage's internal object: the version is pinned and ``tests/sandbox`` checks it works.
    """
    if path not in _COLLECTORS:
        import coverage

        cov = coverage.Coverage(data_file=None, config_file=False, include=[path])
        cov.start()
        cov.stop()
        cov.erase()
        _COLLECTORS[path] = cov._collector
    return _COLLECTORS[path]


def _handle(job: dict[str, Any], commands: Any) -> None:
    workdir = job["workdir"]
    os.makedirs(workdir, exist_ok=True)
    job["path"] = os.path.join(workdir, SOLUTION_NAME)
    code = _compile_candidate(job)
    if job.get("coverage"):
        job["collector"] = _collector(job["path"])
    if code is not None:
        for index, test in enumerate(job["tests"]):
            if test["kind"] == "assert":
                test["compiled"] = _compile_test(test["code"], index)
        _emit({"event": "compiled"})
        for index in range(len(job["tests"])):
            record = _run_test(job, index, code, workdir)
            _emit(record)
            _wipe(workdir, {SOLUTION_NAME})
            with open(job["path"], "w", encoding="utf-8") as handle:
                handle.write(job["source"])
            if job.get("ask_continue") and commands.readline().strip() != b"continue":
                break
    _wipe(workdir, set())
    _emit({"event": "done"})


def main() -> None:
    args = sys.argv[1:]
    serve = "--serve" in args
    if "--site" in args:
        sys.path.append(args[args.index("--site") + 1])
    if "--preload-coverage" in args:
        import coverage  # noqa: F401  (imported once so that every forked child has it loaded)
    commands = sys.stdin.buffer
    _emit({"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        line = commands.readline()
        if not line:
            return
        _handle(json.loads(line), commands)
        if not serve:
            return


if __name__ == "__main__":
    main()
