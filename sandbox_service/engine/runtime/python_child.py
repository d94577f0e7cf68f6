"""The forked test child, part of the in-jail Python harness (``python_harness.py`` loads it by
path and forks before calling :func:`run_child` or :func:`run_shared`). Standard library only.

The child runs the candidate, then one test, and reports how the test ended in one record on the
result pipe. That record carries the parent's per-test token and is written with functions
captured when this file was loaded, before any candidate code ran: the C JSON encoder,
``os.write``, ``os._exit``. Patches the candidate makes to ``json``, ``os``, ``sys`` or
``builtins`` therefore cannot change what is reported, and bytes it writes elsewhere lack the
token. Tracebacks are read from the traceback objects themselves, without the harness's frames.

A shared child (``tests_share_process``, :func:`run_shared`) runs several tests in turn, as
HumanEval's harness does: the candidate's module once for its call and assert tests, the whole
program once per stdio test, and between tests it waits for the parent's go-ahead. Everything it
does between tests (limits, stdin, reports) uses the functions captured here too, because
candidate code has run in this process by then.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module under signal: no stubs
import builtins
import io
import json
import os
import resource
import sys
import time
import types
from _json import encode_basestring_ascii as _c_encode_string
from _json import make_encoder as _c_make_encoder
from collections.abc import Callable
from typing import Any, NoReturn

# Functions defined below resolve builtins in this private copy: a candidate that patches the
# builtins module (``builtins.isinstance = ...``) changes nothing the harness relies on.
globals()["__builtins__"] = dict(builtins.__dict__)

# The module name call and assert tests find the candidate's definitions under.
MODULE_NAME = "solution"

_write = os.write
_exit = os._exit
# The C functions, not the signal module's wrappers, which map numbers to enums in Python and
# so write to dozens of the parent's pages in every forked test.
_set_handler, _SIGINT, _default_int_handler = (
    _signal.signal,
    _signal.SIGINT,
    _signal.default_int_handler,
)
_SIGPROF, _SIGXCPU, _SIG_DFL = _signal.SIGPROF, _signal.SIGXCPU, _signal.SIG_DFL
_setitimer, _ITIMER_PROF = _signal.setitimer, _signal.ITIMER_PROF
_getrlimit, _setrlimit, _RLIMIT_CPU = resource.getrlimit, resource.setrlimit, resource.RLIMIT_CPU
_getrusage, _RUSAGE_SELF = resource.getrusage, resource.RUSAGE_SELF
_process_time = time.process_time
_read, _open, _close, _dup2, _lseek = os.read, os.open, os.close, os.dup2, os.lseek
_memfd_create, _O_RDONLY = os.memfd_create, os.O_RDONLY
_json_loads = json.loads
_io_open, _TextIOWrapper = io.open, io.TextIOWrapper
_STDIN_ENCODING, _STDIN_ERRORS = sys.stdin.encoding, sys.stdin.errors
_settrace, _gettrace = sys.settrace, sys.gettrace
_setprofile, _getprofile = sys.setprofile, sys.getprofile
_setrecursionlimit, _RECURSION_LIMIT = sys.setrecursionlimit, sys.getrecursionlimit()
_flush = io.TextIOWrapper.flush
_STREAMS: tuple[Any, ...] = (sys.stdout, sys.stderr)
_ModuleType = types.ModuleType
_type_name = type.__dict__["__name__"].__get__
_exc_traceback = BaseException.__dict__["__traceback__"].__get__


def _no_default(value: object) -> object:
    raise TypeError(f"a value of type {_type_name(type(value))}")


# json.dumps looks up json's module globals and JSONEncoder methods at call time; this C
# encoder was built before any candidate code ran. Arguments: markers, default, string encoder,
# indent, key and item separators (json.dumps's), sort_keys, skipkeys, allow_nan.
_c_encode = _c_make_encoder(
    None, _no_default, _c_encode_string, None, ": ", ", ", False, False, True
)


def dumps(value: object) -> str:
    """JSON of ``value`` by the encoder captured before any candidate ran."""
    return "".join(_c_encode(value, 0))


# The directory the harness's files were compiled under (the sources', also when they run as
# bytecode): frames of the harness itself carry it and are left out of tracebacks.
_HARNESS_DIR = _no_default.__code__.co_filename.rpartition("/")[0]


def _plain_json(value: object) -> str:
    """JSON of a returned value, refusing anything but builtin data (no candidate code runs)."""

    def convert(item: object, depth: int) -> object:
        if depth > 200:
            raise TypeError("nested too deeply")
        kind = type(item)
        if kind is int or kind is float or kind is bool or kind is str or item is None:
            return item
        if kind is list or kind is tuple:
            return [convert(x, depth + 1) for x in item]  # type: ignore[attr-defined]
        if kind is dict:
            out = {}
            pairs: list[tuple[Any, Any]] = list(dict.items(item))  # type: ignore[arg-type]
            for key, val in pairs:
                if type(key) is not str:
                    raise TypeError(f"dict key of type {_type_name(type(key))}")
                out[key] = convert(val, depth + 1)
            return out
        raise TypeError(f"a value of type {_type_name(kind)}")

    return dumps(convert(value, 0))


def _frames(exc: BaseException, sources: dict[str, list[str]]) -> list[list[Any]]:
    """The traceback as [filename, line, function, text], read from the traceback objects
    themselves (a candidate may patch ``traceback`` or an exception's attributes)."""
    frames: list[list[Any]] = []
    tb = _exc_traceback(exc)
    while tb is not None and len(frames) < 10_000:
        code = tb.tb_frame.f_code
        filename, line = code.co_filename, tb.tb_lineno or 0
        tb = tb.tb_next
        if filename.rpartition("/")[0] == _HARNESS_DIR:  # str's own method: no patch runs
            continue
        lines = sources.get(filename)
        text = lines[line - 1].strip() if lines and 0 < line <= len(lines) else ""
        frames.append([filename, line, code.co_name, text])
    return frames


def describe(exc: BaseException, sources: dict[str, list[str]] | None = None) -> dict[str, Any]:
    try:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        if type(message) is not str:
            message = "<unprintable message>"
    except BaseException:  # a candidate-defined __str__ may raise anything
        message = "<unprintable message>"
    info: dict[str, Any] = {
        "exc_type": _type_name(type(exc)),
        "message": message[:4096],
        "frames": _frames(exc, sources or {}),
    }
    if isinstance(exc, SyntaxError):
        info["syntax"] = {"lineno": exc.lineno or 0, "filename": exc.filename or ""}
    return info


def _resolve(namespace: dict[str, Any], dotted: str) -> Any:
    """The callable a call test names: ``function`` or ``Class.method`` (on a new instance)."""
    head, _, attr = dotted.partition(".")
    if head not in namespace:
        raise NameError(f"name {head!r} is not defined")
    target = namespace[head]
    if attr:
        target = getattr(target() if isinstance(target, type) else target, attr)
    return target


def _untrace() -> None:
    """Remove a trace or profile function the candidate set: it would see the test's frames and
    could rewrite them."""
    if _gettrace() is not None:
        _settrace(None)
    if _getprofile() is not None:
        _setprofile(None)


def _exception_record(exc: BaseException, kind: str, sources: dict[str, list[str]]) -> Any:
    if isinstance(exc, SystemExit):
        exit_code = exc.code
        if kind == "stdio" and (exit_code is None or (type(exit_code) is int and exit_code == 0)):
            return {"outcome": "ok", "exit_code": 0}
        record = {"outcome": "exception", **describe(exc, sources)}
        record["exit_code"] = exit_code if type(exit_code) is int else 1
        return record
    record = {"outcome": "exception", **describe(exc, sources)}
    frames = record["frames"]
    if type(exc) is AssertionError and frames and frames[-1][0].startswith("<test "):
        record["outcome"] = "assert_failed"
    return record


def _sources(job: dict[str, Any], test: dict[str, Any]) -> dict[str, list[str]]:
    """The lines of the candidate's file and of the test's code, by file name, for tracebacks
    (only built when a test fails: splitting them costs every other test memory to copy)."""
    sources = {job["path"]: job["source"].splitlines()}
    compiled = test.get("compiled")
    if compiled is not None:
        sources[compiled.co_filename] = test["code"].splitlines()
    return sources


def run_child(
    job: dict[str, Any],
    test: dict[str, Any],
    code: Any,
    result_fd: int,
    token: str,
    test_globals: Callable[[dict[str, Any]], dict[str, Any]],
) -> NoReturn:
    """Runs in the forked child: the candidate, then the test (an assert test's code with the
    globals ``test_globals`` makes of the candidate's). Never returns."""
    _set_handler(_SIGINT, _default_int_handler)
    record, _ = _run_test(job, test, code, test_globals, None)
    _report(record, job, result_fd, token)
    _exit(0)


def run_shared(
    job: dict[str, Any],
    first: int,
    code: Any,
    fds: tuple[int, int],
    tokens: list[str],
    test_globals: Callable[[dict[str, Any]], dict[str, Any]],
) -> NoReturn:
    """Runs in a shared child: tests ``first``, ``first + 1``, ... of ``job`` in this one
    process, each reported with its token on ``fds[0]``; before each test after the first it
    waits for a byte on ``fds[1]`` (end of file: the parent wants no more tests). The candidate's
    module, once it ran to completion, serves every later call and assert test; a module that
    raised is run again for the next test, so a program that fails at load fails every test, as
    it does with a process per test. Never returns."""
    result_fd, go_fd = fds
    _set_handler(_SIGINT, _default_int_handler)
    cpu_s = job["cpu_ms"] / 1000.0
    module: dict[str, Any] | None = None
    for index in range(first, len(job["tests"])):
        if index > first and not _read(go_fd, 1):
            break
        test = job["tests"][index]
        _arm(test, cpu_s)
        record, module = _run_test(job, test, code, test_globals, module)
        _setitimer(_ITIMER_PROF, 0)
        record["maxrss_kb"] = _getrusage(_RUSAGE_SELF).ru_maxrss
        _report(record, job, result_fd, tokens[index])
    _exit(0)


def _arm(test: dict[str, Any], cpu_s: float) -> None:
    """Give the next test of a shared child what a fresh child would have: its CPU time limit
    (the profiling timer, and the CPU rlimit's soft limit moved to this test's end, below the
    hard limit the parent set for all of them), the default action of those signals (an
    earlier test may have caught them), and its own standard input."""
    _set_handler(_SIGPROF, _SIG_DFL)
    _set_handler(_SIGXCPU, _SIG_DFL)
    hard = _getrlimit(_RLIMIT_CPU)[1]
    _setrlimit(_RLIMIT_CPU, (min(int(_process_time() + cpu_s) + 1, hard), hard))
    _setitimer(_ITIMER_PROF, cpu_s)
    if test["kind"] == "stdio":
        fd = _memfd_create("stdin")
        view = memoryview(test["stdin"].encode())
        while view:
            view = view[_write(fd, view) :]
        _lseek(fd, 0, 0)
    else:
        fd = _open("/dev/null", _O_RDONLY)
    _dup2(fd, 0)
    _close(fd)
    raw = _io_open(0, "rb", closefd=False)
    sys.stdin = _TextIOWrapper(raw, encoding=_STDIN_ENCODING, errors=_STDIN_ERRORS, newline="\n")


def _run_test(
    job: dict[str, Any],
    test: dict[str, Any],
    code: Any,
    test_globals: Callable[[dict[str, Any]], dict[str, Any]],
    module: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The candidate, then the test; ``module``: the namespace of the candidate's module run
    to completion by an earlier test of this process, which a call or assert test uses instead
    of running the module again (a stdio test is a whole run of the program). Returns the
    test's record and the namespace a later test may use (None if the module raised)."""
    kind = test["kind"]
    args = _json_loads(test["args_json"]) if kind == "call" else []
    namespace = None if kind == "stdio" else module
    loaded = None
    record: dict[str, Any] = {"outcome": "ok"}
    try:
        if namespace is None:
            namespace = _fresh_namespace(job, "__main__" if kind == "stdio" else MODULE_NAME)
            exec(code, namespace)
            _untrace()
        loaded = namespace if kind != "stdio" else module
        if kind == "assert":
            exec(test["compiled"], test_globals(namespace))
        elif kind == "call":
            record["value"] = _resolve(namespace, test["function"])(*args)
    except BaseException as exc:
        _untrace()
        _setrecursionlimit(_RECURSION_LIMIT)
        record = _exception_record(exc, kind, _sources(job, test))
    return record, loaded


def _fresh_namespace(job: dict[str, Any], name: str) -> dict[str, Any]:
    """A new module ``name`` for the candidate, registered in ``sys.modules``; the harness
    module is __main__, and the candidate must not find it there."""
    module = _ModuleType(name)
    namespace = vars(module)
    namespace.update({"__file__": job["path"], "__builtins__": builtins})
    sys.modules[name] = module
    if name != "__main__":
        sys.modules["__main__"] = _ModuleType("__main__")
    return namespace


def _report(record: dict[str, Any], job: dict[str, Any], result_fd: int, token: str) -> None:
    """Write the record, tagged with the token, after flushing the test's output."""
    _untrace()
    _setrecursionlimit(_RECURSION_LIMIT)
    probes = job.get("line_probes")
    if probes is not None:
        try:
            path = job["path"]
            seen = (probes.newly_seen.get(path, ()), probes.all_seen.get(path, ()))
            record["lines"] = sorted({line for lines in seen for line in lines})
        except BaseException:
            record["lines"] = []
    if "value" in record:
        try:
            record["value_json"] = _plain_json(record.pop("value"))
        except (TypeError, ValueError, RecursionError) as exc:
            record["unserialisable"] = str(exc)
    for stream in _STREAMS:
        try:
            _flush(stream)
        except BaseException:
            record["flush_failed"] = True
    record["token"] = token
    try:
        data = ("\n" + dumps(record) + "\n").encode()
    except BaseException:
        data = ("\n" + dumps({"outcome": "unreportable", "token": token}) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[_write(result_fd, view) :]
