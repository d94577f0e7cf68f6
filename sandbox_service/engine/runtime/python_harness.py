"""In-jail harness for Python programs. Standard library only; runs as pid 1 of the jail.

Why it is shaped like this:

* The harness process (the *parent*) never executes candidate code. It compiles the candidate
  (a syntax error is found without running anything), then forks a fresh *child* per test. The
  child runs the candidate and the test; the parent observes it from outside: exit status,
  kernel-measured CPU time and peak memory (``wait4``), captured pipes. Globals, signal handlers,
  threads and at-fork hooks of one test cannot reach the next.
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

Protocol: newline-delimited JSON. stdin carries jobs; stdout carries ``{"event": ...}`` records.
With ``--serve`` the harness handles jobs until stdin closes (pooled workers); otherwise one job.
"""

from __future__ import annotations

import _weakref
import binascii
import builtins
import functools
import gc
import io
import json
import marshal
import math  # noqa: F401  (loaded before any candidate so that test code gets it unpatched)
import operator
import os
import resource
import signal
import struct
import sys
import time
import types
from _json import encode_basestring_ascii as _c_encode_string
from _json import make_encoder as _c_make_encoder
from typing import Any, NoReturn

# Functions defined below resolve builtins in this private copy: a candidate that patches the
# builtins module (``builtins.isinstance = ...``) changes nothing the harness relies on.
globals()["__builtins__"] = dict(builtins.__dict__)


def _load_supervise() -> Any:
    """runtime/supervise.py, which both in-jail harnesses share; loaded by path because ``-I``
    leaves this directory off ``sys.path``, as bytecode when this file runs as bytecode."""
    import importlib.util

    suffix = os.path.splitext(__file__)[1]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "supervise" + suffix)
    spec = importlib.util.spec_from_file_location("crucible_supervise", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_supervise = _load_supervise()
# The file name this file's code was compiled under (the source's, also when run as bytecode):
# frames of the harness itself carry it.
_HARNESS_FILE = _load_supervise.__code__.co_filename

SOLUTION_NAME = "solution.py"
MODULE_NAME = "solution"
# The helpers test code calls once the trusted side has rewritten it (engine/strict_tests.py).
CMP_NAME = "__crucible_compare__"
BINOP_NAME = "__crucible_binop__"
TRUTH_NAME = "__crucible_truth__"
# Objects followed when deciding whether a value is safe to compare; beyond that it is not.
WALK_LIMIT = 1_000_000
DEPTH_LIMIT = 1000

_PRISTINE_BUILTINS = dict(builtins.__dict__)
# Names test code always resolves in the builtins, even where the candidate defined them.
_BUILTIN_NAMES = frozenset(name for name in _PRISTINE_BUILTINS if not name.startswith("__"))
_import = builtins.__import__
_write = os.write
_exit = os._exit
_settrace, _gettrace = sys.settrace, sys.gettrace
_setprofile, _getprofile = sys.setprofile, sys.getprofile
_setrecursionlimit, _RECURSION_LIMIT = sys.setrecursionlimit, sys.getrecursionlimit()
_referents = gc.get_referents
_flush = io.TextIOWrapper.flush
_STREAMS: tuple[Any, ...] = (sys.stdout, sys.stderr)
_ModuleType = types.ModuleType
_MISSING = object()

# Slot getters of ``type`` itself: a metaclass cannot change what these return.
_HEAPTYPE = 1 << 9
_TYPE_SUBCLASS = 1 << 31
_type_flags = type.__dict__["__flags__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_name = type.__dict__["__name__"].__get__
_exc_traceback = BaseException.__dict__["__traceback__"].__get__

# Types are compared by id: ``kind in {int, str}`` would call a metaclass's ``__eq__``.
_PLAIN_IDS = frozenset(map(id, (int, float, complex, bool, str, bytes, type(None))))
# Truth of these is their length: no element's code runs.
_SIZED_IDS = frozenset(map(id, (list, tuple, dict, set, frozenset)))
# Builtin objects whose comparison calls a callable they hold (functools.cmp_to_key's keys) or
# forwards to a referent the garbage collector does not show (weak references).
_SUSPECT_IDS = frozenset(
    map(
        id,
        (
            type(functools.cmp_to_key(operator.eq)(0)),
            _weakref.ReferenceType,
            _weakref.ProxyType,
            _weakref.CallableProxyType,
        ),
    )
)
# Compared by identity whatever they hold: never entered (a function's globals are everything).
_LEAF_IDS = frozenset(
    map(
        id,
        (
            types.ModuleType,
            types.FunctionType,
            types.FrameType,
            types.GeneratorType,
            types.CoroutineType,
            types.AsyncGeneratorType,
        ),
    )
)
# datetime's datetime and time: not tracked by the garbage collector, yet their comparison
# calls their tzinfo. Known by name (a builtin type cannot be the candidate's), so that the
# harness need not load datetime into every worker.
_AWARE_NAMES = frozenset({"datetime", "time"})


def _no_default(value: object) -> object:
    raise TypeError(f"a value of type {_type_name(type(value))}")


# json.dumps looks up json's module globals and JSONEncoder methods at call time; this C
# encoder was built before any candidate code ran. Arguments: markers, default, string encoder,
# indent, key and item separators (json.dumps's), sort_keys, skipkeys, allow_nan.
_c_encode = _c_make_encoder(
    None, _no_default, _c_encode_string, None, ": ", ", ", False, False, True
)


def _dumps(value: object) -> str:
    return "".join(_c_encode(value, 0))


# ------------------------------------------------------------------------ trusted snapshot

# Filled by the parent before it forks: every Python class (with its MRO and a copy of its own
# namespace) and every module (with a copy of its namespace) that existed before any candidate
# code ran.
_TRUSTED_TYPES: dict[int, tuple[type, tuple[type, ...], dict[str, Any]]] = {}
_MODULES: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {}
_MODULE_NAMES: dict[int, str] = {}


def _heap(kind: type) -> bool:
    return bool(_type_flags(kind) & _HEAPTYPE)


def _snapshot() -> None:
    """Record the classes and modules that exist now (call again after importing more)."""
    stack: list[type] = [object]
    seen: set[int] = set()
    while stack:
        subclasses: list[type] = type.__subclasses__(stack.pop())
        for sub in subclasses:
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            stack.append(sub)
            if _heap(sub) and id(sub) not in _TRUSTED_TYPES:
                _TRUSTED_TYPES[id(sub)] = (sub, _type_mro(sub), dict(_type_dict(sub)))
    for name, module in list(sys.modules.items()):
        if type(module) is _ModuleType and name not in _MODULES:
            _MODULES[name] = (module, dict(vars(module)))
            _MODULE_NAMES[id(module)] = name


def _unchanged(kind: type) -> bool:
    """A Python class recorded by the snapshot, with the same MRO and namespace."""
    known = _TRUSTED_TYPES.get(id(kind))
    if known is None or known[0] is not kind:
        return False
    mro, namespace, current = _type_mro(kind), known[2], _type_dict(kind)
    if len(mro) != len(known[1]) or any(a is not b for a, b in zip(mro, known[1], strict=True)):
        return False
    if len(current) != len(namespace):
        return False
    return all(current.get(key, _MISSING) is value for key, value in namespace.items())


def _trusted_type(kind: type) -> bool:
    """Builtin (static) types, and Python classes that predate the candidate, unmodified (they
    and every Python class they derive from)."""
    return all(_unchanged(base) for base in _type_mro(kind) if _heap(base))


def _restore(name: str) -> types.ModuleType:
    """Module ``name`` as it was before the candidate ran (its class and its attributes; new
    submodules stay)."""
    module, saved = _MODULES[name]
    if type(module) is not _ModuleType:
        object.__setattr__(module, "__class__", _ModuleType)
    current = vars(module)
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            current[key] = value
    for key in [key for key in current if key not in saved]:
        if type(current[key]) is not _ModuleType:
            del current[key]
    return module


# --------------------------------------------------------------------- strict test semantics

# The special methods each operation of test code dispatches to.
_EQ = ("__eq__", "__ne__")
_ORDER = ("__lt__", "__le__", "__gt__", "__ge__")
_TRUTH = ("__bool__", "__len__")
_IN = ("__contains__", "__iter__", "__getitem__", *_EQ)


def _borrowed(kind: type, names: tuple[str, ...]) -> bool:
    """Whether ``kind`` takes every method in ``names`` from builtin (static) types: no Python
    class of its MRO defines one. A program's namedtuple or IntEnum then compares as the tuple
    or int it is."""
    return not any(
        _heap(base) and any(name in _type_dict(base) for name in names) for base in _type_mro(kind)
    )


def _honest(kind: type, names: tuple[str, ...]) -> bool:
    return _trusted_type(kind) or _borrowed(kind, names)


def _untrusted(value: object, names: tuple[str, ...]) -> bool:
    """Whether applying ``names`` to ``value`` could run code the candidate chose: true when an
    object whose class supplies one of them from the candidate's code, a comparison key
    wrapping a callable, or a weak reference is reachable from it. Reachability follows the
    references the garbage collector sees, which covers builtin and trusted containers and
    wrappers alike; no candidate code runs meanwhile."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if id(kind) in _PLAIN_IDS or id(item) in seen:
            continue
        seen.add(id(item))
        if len(seen) > WALK_LIMIT or id(kind) in _SUSPECT_IDS or not _honest(kind, names):
            return True
        if id(kind) in _LEAF_IDS or _type_flags(kind) & _TYPE_SUBCLASS:  # classes too
            continue
        if not _heap(kind) and _type_name(kind) in _AWARE_NAMES:
            stack.append(getattr(item, "tzinfo", None))
        stack.extend(ref for ref in _referents(item) if ref is not kind)
    return False


def _shape(kind: type, shapes: tuple[type, ...]) -> Any:
    """The first of ``shapes`` (builtin containers) that ``kind`` derives from, else None."""
    for base in _type_mro(kind):
        for shape in shapes:
            if base is shape:
                return shape
    return None


def _safe_eq(left: Any, right: Any, depth: int) -> bool:
    """``left == right`` decided without running candidate code, for values that hold untrusted
    objects: containers compare element by element (through the builtin container's own
    iteration), an object of a class with its own ``__eq__`` equals only an object of the same
    class (by that class's rules), anything else holding such objects equals only itself."""
    left_kind, right_kind = type(left), type(right)
    if id(left_kind) in _PLAIN_IDS and id(right_kind) in _PLAIN_IDS:
        return bool(left == right)
    if left is right:
        return True
    if not (_honest(left_kind, _EQ) and _honest(right_kind, _EQ)):
        return left_kind is right_kind and bool(left == right)
    shape = _shape(left_kind, (dict, list, tuple))
    if depth < DEPTH_LIMIT and shape is not None and shape is _shape(right_kind, (shape,)):
        if shape is dict:
            keys, other = list(dict.keys(left)), list(dict.keys(right))
            if len(keys) != len(other) or _untrusted(keys, _EQ) or _untrusted(other, _EQ):
                return False
            return dict.keys(left) == dict.keys(right) and all(
                _safe_eq(dict.__getitem__(left, key), dict.__getitem__(right, key), depth + 1)
                for key in keys
            )
        items, others = list(shape.__iter__(left)), list(shape.__iter__(right))
        return len(items) == len(others) and all(
            _safe_eq(a, b, depth + 1) for a, b in zip(items, others, strict=True)
        )
    if _untrusted(left, _EQ) or _untrusted(right, _EQ):
        return False
    return bool(left == right)


def _plain(left: object, right: object) -> bool:
    return id(type(left)) in _PLAIN_IDS and id(type(right)) in _PLAIN_IDS


def _strict_eq(left: object, right: object) -> bool:
    if _plain(left, right) or not (_untrusted(left, _EQ) or _untrusted(right, _EQ)):
        return bool(left == right)
    return _safe_eq(left, right, 0)


def _refuse(what: str, *values: object) -> TypeError:
    names = ", ".join(_type_name(type(value)) for value in values)
    return TypeError(f"test code does not trust {what} on ({names}): objects the program made")


def _allowed(left: object, right: object, names: tuple[str, ...]) -> bool:
    """Whether an operation dispatching to ``names`` may run on these operands: plain values,
    values that hold no code of the candidate's for it, or two objects of one class of the
    candidate's (whose own operators then decide, as for any object of that class)."""
    if _plain(left, right):
        return True
    if type(left) is type(right) and not _trusted_type(type(left)):
        return True
    return not (_untrusted(left, names) or _untrusted(right, names))


def _strict_in(item: object, container: Any) -> bool:
    if not (_untrusted(item, _EQ) or _untrusted(container, _IN)):
        return item in container
    kind = type(container)
    shapes = (dict, list, tuple, set, frozenset)
    shape = _shape(kind, shapes) if _honest(kind, _IN) else None
    if shape is None:
        raise _refuse("'in'", item, container)
    elements = list(dict.keys(container) if shape is dict else shape.__iter__(container))
    return any(_safe_eq(item, element, 0) for element in elements)


_ORDERINGS: dict[str, Any] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# Operator, and the special methods it dispatches to.
_BINARY: dict[str, tuple[Any, tuple[str, ...]]] = {
    "+": (operator.add, ("__add__", "__radd__")),
    "-": (operator.sub, ("__sub__", "__rsub__")),
    "*": (operator.mul, ("__mul__", "__rmul__")),
    "/": (operator.truediv, ("__truediv__", "__rtruediv__")),
    "//": (operator.floordiv, ("__floordiv__", "__rfloordiv__")),
    "%": (operator.mod, ("__mod__", "__rmod__")),
    "**": (operator.pow, ("__pow__", "__rpow__")),
    "@": (operator.matmul, ("__matmul__", "__rmatmul__")),
    "<<": (operator.lshift, ("__lshift__", "__rlshift__")),
    ">>": (operator.rshift, ("__rshift__", "__rrshift__")),
    "|": (operator.or_, ("__or__", "__ror__")),
    "^": (operator.xor, ("__xor__", "__rxor__")),
    "&": (operator.and_, ("__and__", "__rand__")),
}


def _strict_compare(op: str, left: object, right: object) -> bool:
    """Comparison operators of test code (``is`` is left alone: identity runs no code)."""
    if op == "==":
        return _strict_eq(left, right)
    if op == "!=":
        return not _strict_eq(left, right)
    if op == "in":
        return _strict_in(left, right)
    if op == "not in":
        return not _strict_in(left, right)
    if _allowed(left, right, _ORDER):
        return bool(_ORDERINGS[op](left, right))
    raise _refuse(f"'{op}'", left, right)


def _strict_binop(op: str, left: object, right: object) -> object:
    """Arithmetic of test code: ``abs(result - 0.5) < 1e-6`` cannot be satisfied by an object
    whose ``__sub__`` lies."""
    function, names = _BINARY[op]
    if _allowed(left, right, names):
        return function(left, right)
    raise _refuse(f"'{op}'", left, right)


def _strict_truth(value: object) -> object:
    """The operand of a truth test in test code, refused when its truth is the candidate's."""
    kind = type(value)
    if id(kind) in _PLAIN_IDS or id(kind) in _SIZED_IDS or not _untrusted(value, _TRUTH):
        return value
    raise _refuse("a truth test", value)


def _test_import(
    name: str,
    globals_: Any = None,
    locals_: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> Any:
    """``__import__`` of test code: modules loaded before the candidate come back restored."""
    module = _import(name, globals_, locals_, fromlist, level)
    wanted = name if fromlist else name.partition(".")[0]
    if level == 0 and wanted in _MODULES:
        return _restore(wanted)
    return module


def _test_globals(namespace: dict[str, Any]) -> dict[str, Any]:
    """Globals of test code: the candidate's names, except that builtin names mean the builtins,
    modules loaded before the candidate are restored, and their names mean them (unless the
    candidate defined a function or class of that name)."""
    test_globals = {name: value for name, value in namespace.items() if name not in _BUILTIN_NAMES}
    for name, value in list(test_globals.items()):
        if id(value) in _MODULE_NAMES:
            _restore(_MODULE_NAMES[id(value)])
        elif name in _MODULES and not isinstance(value, (type, types.FunctionType)):
            test_globals[name] = _restore(name)
    test_builtins = dict(_PRISTINE_BUILTINS)
    test_builtins["__import__"] = _test_import
    test_globals.update(
        {
            "__builtins__": test_builtins,
            CMP_NAME: _strict_compare,
            BINOP_NAME: _strict_binop,
            TRUTH_NAME: _strict_truth,
        }
    )
    return test_globals


# ----------------------------------------------------------------------------- child side


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

    return _dumps(convert(value, 0))


def _frames(exc: BaseException, sources: dict[str, list[str]]) -> list[list[Any]]:
    """The traceback as [filename, line, function, text], read from the traceback objects
    themselves (a candidate may patch ``traceback`` or an exception's attributes)."""
    frames: list[list[Any]] = []
    tb = _exc_traceback(exc)
    while tb is not None and len(frames) < 10_000:
        code = tb.tb_frame.f_code
        filename, line = code.co_filename, tb.tb_lineno or 0
        tb = tb.tb_next
        if filename == _HARNESS_FILE:
            continue
        lines = sources.get(filename)
        text = lines[line - 1].strip() if lines and 0 < line <= len(lines) else ""
        frames.append([filename, line, code.co_name, text])
    return frames


def _describe(exc: BaseException, sources: dict[str, list[str]] | None = None) -> dict[str, Any]:
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
        record = {"outcome": "exception", **_describe(exc, sources)}
        record["exit_code"] = exit_code if type(exit_code) is int else 1
        return record
    record = {"outcome": "exception", **_describe(exc, sources)}
    frames = record["frames"]
    if type(exc) is AssertionError and frames and frames[-1][0].startswith("<test "):
        record["outcome"] = "assert_failed"
    return record


def _run_child(
    job: dict[str, Any], test: dict[str, Any], code: Any, result_fd: int, token: str
) -> NoReturn:
    """Runs in the forked child: the candidate, then the test. Never returns."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    kind = test["kind"]
    compiled = test.get("compiled")
    args = json.loads(test["args_json"]) if kind == "call" else []
    sources = {job["path"]: job["source"].splitlines()}
    if compiled is not None:
        sources[compiled.co_filename] = test["code"].splitlines()
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
            exec(test["compiled"], _test_globals(namespace))
        elif kind == "call":
            record["value"] = _resolve(namespace, test["function"])(*args)
    except BaseException as exc:
        _untrace()
        _setrecursionlimit(_RECURSION_LIMIT)
        record = _exception_record(exc, kind, sources)
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
        data = ("\n" + _dumps(record) + "\n").encode()
    except BaseException:
        data = ("\n" + _dumps({"outcome": "unreportable", "token": token}) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[_write(result_fd, view) :]
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
    rest, so only two directory descriptors are ever open."""
    os.chmod(path, _WORKDIR_MODES[path])
    top = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    moved = 0
    try:
        while True:
            entries = list(os.scandir(top))
            if not entries:
                return True
            progress = False
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    progress |= _quietly(os.unlink, entry.name, dir_fd=top)
                    continue
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
            if not progress:
                return False
    finally:
        os.close(top)


_RLIMITS = sorted(value for name, value in vars(resource).items() if name.startswith("RLIMIT_"))
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
    token = os.urandom(16).hex()
    cpu_before = _supervise.children_cpu_ms()
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
            _run_child(job, test, code, res_w, token)
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
    return {
        "event": "test",
        "index": index,
        **{key: value for key, value in watched.items() if key != "result"},
        "child": _child_record(watched["result"], token),
    }


def _emit(record: dict[str, Any]) -> None:
    data = (_dumps(record) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def _write_solution(job: dict[str, Any]) -> None:
    with open(job["path"], "w", encoding="utf-8") as handle:
        handle.write(job["source"])


def _compile_candidate(job: dict[str, Any]) -> Any:
    _write_solution(job)
    try:
        return compile(job["source"], job["path"], "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # too deep: not syntax
        _emit({"event": "compile_error", **_describe(exc)})
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
        _snapshot()  # slipcover's classes and modules predate every candidate too
        gc.freeze()
    probes = _SLIPCOVER[0].Slipcover(immediate=True)
    return probes.instrument(code), probes


def _load_slipcover() -> None:
    from slipcover import slipcover

    _SLIPCOVER.append(slipcover)


def _handle(job: dict[str, Any], commands: Any) -> bool:
    """Run one job; False when this process should not serve another (a test tampered with it
    or left files that could not be removed)."""
    workdir = job["workdir"]
    os.makedirs(workdir, exist_ok=True)
    _WORKDIR_MODES.setdefault(workdir, os.stat(workdir).st_mode & 0o7777)
    job["path"] = os.path.join(workdir, SOLUTION_NAME)
    code = _compile_candidate(job)
    if code is not None and job.get("coverage"):
        code, job["line_probes"] = _with_line_probes(code)
    healthy = True
    if code is not None:
        for test in job["tests"]:
            if test["kind"] == "assert":  # compiled and rewritten by the trusted side
                test["compiled"] = marshal.loads(binascii.a2b_base64(test["bytecode"]))
        last = len(job["tests"]) - 1
        for index in range(last + 1):
            record = _run_test(job, index, code, workdir)
            tampered = _tampering()
            if tampered:  # this process may be unable to go on: report and stop
                record["tampered"] = tampered
                healthy = False
            elif index < last:  # the next test finds /tmp as the first did
                healthy = _wipe(workdir)
                _write_solution(job)
            _emit(record)
            if job.get("ask_continue") and commands.readline().strip() != b"continue":
                break
            if not healthy:
                break
    healthy = healthy and _wipe(workdir)
    _emit({"event": "done", "retire": not healthy})
    return healthy


# Syscalls by which a process of the jail's uid can change another process of the jail (the
# harness) from outside, or make namespaces: (AUDIT_ARCH, numbers) per machine.
_SYSCALLS: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "prlimit64": 302,
            "setpriority": 141,
            "sched_setparam": 142,
            "sched_setscheduler": 144,
            "sched_setaffinity": 203,
            "ioprio_set": 251,
            "sched_setattr": 314,
            "pidfd_getfd": 438,
            "process_madvise": 440,
            "clone": 56,
            "clone3": 435,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "prlimit64": 261,
            "setpriority": 140,
            "sched_setparam": 118,
            "sched_setscheduler": 119,
            "sched_setaffinity": 122,
            "ioprio_set": 30,
            "sched_setattr": 274,
            "pidfd_getfd": 438,
            "process_madvise": 440,
            "clone": 220,
            "clone3": 435,
        },
    ),
}
# Arguments (index, value) a call must have to be allowed: "this process" only.
_OWN_PROCESS_ONLY: dict[str, tuple[tuple[int, int], ...]] = {
    "prlimit64": ((0, 0),),
    "setpriority": ((0, 0), (1, 0)),  # PRIO_PROCESS, who = self
    "sched_setparam": ((0, 0),),
    "sched_setscheduler": ((0, 0),),
    "sched_setaffinity": ((0, 0),),
    "ioprio_set": ((0, 1), (1, 0)),  # IOPRIO_WHO_PROCESS, who = self
    "sched_setattr": ((0, 0),),
}
_NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET,TIME}
_RET_ALLOW, _RET_EPERM, _RET_ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def _bpf(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _seccomp_filter(machine: str) -> bytes | None:
    """A classic-BPF seccomp program for ``machine`` (None where the numbers are unknown):
    calls that act on other processes fail with EPERM unless they name the caller, clone with
    namespace flags fails with EPERM, clone3 (whose flags BPF cannot read) with ENOSYS, which
    makes the C library fall back to clone."""
    if machine not in _SYSCALLS:
        return None
    arch, numbers = _SYSCALLS[machine]
    arg = [16 + 8 * index for index in range(6)]  # low 32 bits of each argument
    blocks: list[tuple[int, list[bytes]]] = []
    for name, conditions in _OWN_PROCESS_ONLY.items():
        block = []
        for index, value in conditions:
            block += [_bpf(_LD_ABS, arg[index]), _bpf(_JEQ, value, 1, 0), _bpf(_RET, _RET_EPERM)]
        blocks.append((numbers[name], [*block, _bpf(_RET, _RET_ALLOW)]))
    for name in ("pidfd_getfd", "process_madvise"):
        blocks.append((numbers[name], [_bpf(_RET, _RET_EPERM)]))
    blocks.append((numbers["clone3"], [_bpf(_RET, _RET_ENOSYS)]))
    clone = [
        _bpf(_LD_ABS, arg[0]),
        _bpf(_JSET, _NAMESPACE_FLAGS, 0, 1),
        _bpf(_RET, _RET_EPERM),
        _bpf(_RET, _RET_ALLOW),
    ]
    blocks.append((numbers["clone"], clone))
    program = [
        _bpf(_LD_ABS, 4),  # seccomp_data.arch
        _bpf(_JEQ, arch, 1, 0),
        _bpf(_RET, _RET_ALLOW),
        _bpf(_LD_ABS, 0),  # seccomp_data.nr
        _bpf(_JGE, 0x40000000, 0, 1),  # x32 numbers would bypass the checks below
        _bpf(_RET, _RET_EPERM),
    ]
    for number, block in blocks:
        program += [_bpf(_JEQ, number, 0, len(block)), *block]
    program.append(_bpf(_RET, _RET_ALLOW))
    return b"".join(program)


def _guard() -> None:
    """Protect this process and, by inheritance, every test's process: PR_SET_DUMPABLE 0
    (processes of this uid may not take this one's descriptors with pidfd_getfd, its stdout
    being the verdict channel, or read its memory), then PR_SET_NO_NEW_PRIVS and the seccomp
    filter, which forks keep and nothing can remove. The harness itself never needs a call
    the filter refuses."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl(4, 0, 0, 0, 0)
        code = _seccomp_filter(os.uname().machine)
        if code is None:
            return

        class Program(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

        prctl(38, 1, 0, 0, 0)
        if prctl(22, 2, ctypes.byref(Program(len(code) // 8, code)), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    except (ImportError, OSError, AttributeError) as exc:
        _quietly(_write, 2, f"harness: kernel guards unavailable: {exc!r}\n".encode())


def main() -> None:
    args = sys.argv[1:]
    serve = "--serve" in args
    # As pid 1, a signal with the default disposition sent from inside the jail is dropped;
    # Python's own SIGINT handler would let a test's os.kill(1, SIGINT) end the harness.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _guard()
    for option in ("--site", "--packages"):  # slipcover's; then what programs may import
        if option in args:
            sys.path.append(args[args.index(option) + 1])
    if "--line-probes" in args:
        # Loaded by every pooled worker, used or not: the 4.6 MB it adds make every fork and
        # exit dearer, and a test's CPU time must not depend on whether its worker happened to
        # serve a coverage job before (CodeDPO compares programs by CPU time).
        _load_slipcover()
    _snapshot()
    _BASELINE["state"] = _own_state()
    # What exists now lives as long as this process: keep the garbage collector of every forked
    # test from walking it (and so copying its pages on write).
    gc.freeze()
    commands = sys.stdin.buffer
    _emit({"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        line = commands.readline()
        if not line:
            return
        if not _handle(json.loads(line), commands) or not serve:
            return


if __name__ == "__main__":
    main()
