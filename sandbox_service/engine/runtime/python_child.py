"""The forked test child, part of the in-jail Python harness (``python_harness.py`` loads it by
path and forks before calling :func:`run_child`). Standard library only.

The child runs the candidate, then one test, and reports how the test ended in one record on the
result pipe. That record carries the parent's per-test token and is written with functions
captured when this file was loaded, before any candidate code ran: the C JSON encoder,
``os.write``, ``os._exit``. Patches the candidate makes to ``json``, ``os``, ``sys`` or
``builtins`` therefore cannot change what is reported, and bytes it writes elsewhere lack the
token. Tracebacks are read from the traceback objects themselves, without the harness's frames.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module under signal: no stubs
import builtins
import io
import json
import os
import sys
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
    kind = test["kind"]
    args = json.loads(test["args_json"]) if kind == "call" else []
    name = "__main__" if kind == "stdio" else MODULE_NAME
    module = _ModuleType(name)
    namespace = vars(module)
    namespace.update({"__file__": job["path"], "__builtins__": builtins})
    # The harness module is __main__; the candidate must not find it there.
    sys.modules[name] = module
    if name != "__main__":
        sys.modules["__main__"] = _ModuleType("__main__")
    record: dict[str, Any] = {"outcome": "ok"}
    try:
        exec(code, namespace)
        _untrace()
        if kind == "assert":
            exec(test["compiled"], test_globals(namespace))
        elif kind == "call":
            record["value"] = _resolve(namespace, test["function"])(*args)
    except BaseException as exc:
        _untrace()
        _setrecursionlimit(_RECURSION_LIMIT)
        record = _exception_record(exc, kind, _sources(job, test))
    _report(record, job, result_fd, token)


def _report(record: dict[str, Any], job: dict[str, Any], result_fd: int, token: str) -> NoReturn:
    """Write the record, tagged with the token, and exit."""
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
    _exit(0)
