"""Assert tests' strict semantics, part of the in-jail Python harness (``python_harness.py``
loads it by path). Standard library only.

Test code of assert tests runs in the candidate's process, so it must not run the candidate's
code for the operations it relies on. The trusted side rewrites its comparisons, arithmetic and
truth tests into calls of the helpers named below (engine/strict_tests.py); the helpers decide
without calling any code the candidate chose, by checking every reachable object's class against
a snapshot of the classes and modules that existed before the candidate ran. Test code also gets
the builtins and the standard modules as they were then (:func:`test_globals`).
"""

from __future__ import annotations

import _weakref
import builtins
import functools
import gc
import itertools
import math  # noqa: F401  (loaded before any candidate so that test code gets it unpatched)
import operator
import sys
import types
from typing import Any

# Functions defined below resolve builtins in this private copy: a candidate that patches the
# builtins module (``builtins.isinstance = ...``) changes nothing the harness relies on.
globals()["__builtins__"] = dict(builtins.__dict__)

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
_referents = gc.get_referents
_ModuleType = types.ModuleType
_MISSING = object()
_is, _repeat = operator.is_, itertools.repeat

# Slot getters of ``type`` itself: a metaclass cannot change what these return.
_HEAPTYPE = 1 << 9
_TYPE_SUBCLASS = 1 << 31
_type_flags = type.__dict__["__flags__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
type_name = type.__dict__["__name__"].__get__

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

# ------------------------------------------------------------------------ trusted snapshot

# Filled by the parent before it forks: every Python class (with its MRO and a copy of its own
# namespace) and every module (with a copy of its namespace) that existed before any candidate
# code ran.
_TRUSTED_TYPES: dict[int, tuple[type, tuple[type, ...], dict[str, Any]]] = {}
_MODULES: dict[str, tuple[types.ModuleType, dict[Any, Any]]] = {}
_MODULE_NAMES: dict[int, str] = {}
# With watch_versions: per module, a view of its namespace's version tag and the tag's value at
# the snapshot. CPython (PEP 509) sets a dict's tag to a value never used before on every change
# of the dict, so an equal tag means an unchanged namespace; reading it touches nothing else.
_VERSIONS: dict[str, tuple[Any, int]] = {}
_VERSION_VIEW: list[Any] = []


def _heap(kind: type) -> bool:
    return bool(_type_flags(kind) & _HEAPTYPE)


def snapshot() -> None:
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
        # ``__main__`` is the harness itself, whose globals it keeps changing, and in a forked
        # test the candidate's: neither is a module test code may have restored.
        if type(module) is _ModuleType and name not in _MODULES and name != "__main__":
            namespace = vars(module)
            if _VERSION_VIEW:  # then the copies of the names (0.3 MB) would serve no check
                view = _VERSION_VIEW[0](namespace)
                _VERSIONS[name] = (view, view.value)
                _MODULES[name] = (module, dict(namespace))
            else:
                _MODULES[name] = (module, {_copy(key): value for key, value in namespace.items()})
            _MODULE_NAMES[id(module)] = name


def watch_versions() -> bool:
    """Let :func:`_restore` (and so every forked test's globals) recognise a module unchanged
    since the snapshot by its namespace's version tag, read in place through ctypes. Why: any
    other check reads the namespace's values, which writes to their reference counts and so
    copies some 45 pages of this process (the builtins' values) in every forked test. Only where
    this interpreter keeps the tag where CPython 3.11 does (after the reference count, the type
    and the size) and changes it on every kind of change, as checked here on a scratch dict;
    otherwise False and nothing changes. Call before :func:`snapshot` (modules recorded before
    are checked by their values)."""
    import ctypes

    offset = 3 * ctypes.sizeof(ctypes.c_ssize_t)

    def view(namespace: dict[Any, Any]) -> Any:
        return ctypes.c_uint64.from_address(id(namespace) + offset)

    probe: dict[Any, Any] = {}
    tag = view(probe)
    changes = (
        lambda: probe.__setitem__("a", 1),
        lambda: probe.__setitem__("a", 2),  # a new value under a name it has: size unchanged
        lambda: probe.update(b=1),
        lambda: probe.setdefault("c", 1),
        lambda: probe.pop("c"),
        lambda: probe.__delitem__("b"),
        probe.popitem,
        lambda: probe.update(d=1),
        probe.clear,
    )
    seen = [tag.value]
    for change in changes:
        change()
        seen.append(tag.value)
    if any(later <= earlier for earlier, later in itertools.pairwise(seen)):
        return False
    _VERSION_VIEW.append(view)
    return True


def _copy(key: object) -> object:
    """An equal string that is not ``key`` (a cached one-character string, or a key that is no
    string, stays itself). Why: without version tags (:func:`watch_versions`), :func:`_restore`
    then finds the module's keys by looking their copies up, which reads the module's keys
    without writing to them. Writing to them (their
    reference counts) would copy the page of each in every forked test: the names of the
    builtins alone lie on some 50 pages of the interpreter's static data."""
    if type(key) is not str:
        return key
    return key.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


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
    version = _VERSIONS.get(name)
    if version is not None and version[0].value == version[1]:
        return module
    current = vars(module)
    # Unchanged: as many names, each bound to the very object it was (``is``: no __eq__ of the
    # candidate's runs). Only the saved names (copies, without version tags) are iterated.
    if len(current) == len(saved) and all(
        map(_is, map(current.get, saved.keys(), _repeat(_MISSING)), saved.values())
    ):
        return module
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            current[key] = value
    for key in [key for key in current if key not in saved]:
        if type(current[key]) is not _ModuleType:
            del current[key]
    return module


def _restore_all() -> None:
    """Every module the snapshot recorded, as it was (:func:`_restore`)."""
    for name in _MODULES:
        _restore(name)


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


# What a walk of the objects reachable from an operand finds (:func:`_reach`).
_BUILTIN_ONLY, _TRUSTED_PYTHON, _UNTRUSTED = 0, 1, 2


def _reach(value: object, names: tuple[str, ...]) -> int:
    """Whether applying ``names`` to ``value`` could run code the candidate chose:
    ``_UNTRUSTED`` when an object whose class supplies one of them from the candidate's code, a
    comparison key wrapping a callable, or a weak reference is reachable from it. Otherwise
    ``_TRUSTED_PYTHON`` when an object of a Python class is reachable (its trusted methods may
    run, and they look names up in their module's globals and the builtins when they run), else
    ``_BUILTIN_ONLY``. Reachability follows the references the garbage collector sees, which
    covers builtin and trusted containers and wrappers alike; no candidate code runs meanwhile."""
    stack = [value]
    seen: set[int] = set()
    found = _BUILTIN_ONLY
    while stack:
        item = stack.pop()
        kind = type(item)
        if id(kind) in _PLAIN_IDS or id(item) in seen:
            continue
        seen.add(id(item))
        if len(seen) > WALK_LIMIT or id(kind) in _SUSPECT_IDS or not _honest(kind, names):
            return _UNTRUSTED
        if _heap(kind):
            found = _TRUSTED_PYTHON
        if id(kind) in _LEAF_IDS or _type_flags(kind) & _TYPE_SUBCLASS:  # classes too
            continue
        if not _heap(kind) and type_name(kind) in _AWARE_NAMES:
            stack.append(getattr(item, "tzinfo", None))
        stack.extend(ref for ref in _referents(item) if ref is not kind)
    return found


def _cleared(names: tuple[str, ...], *values: object) -> bool:
    """Whether applying ``names`` to ``values`` runs no code of the candidate's; when trusted
    Python code will run, every module is first restored as it was before the candidate ran.
    Why: test code calls the candidate between :func:`test_globals` and the operation, so a
    called function can rebind ``builtins.all`` or a name in ``collections``' globals, and
    ``Counter.__eq__`` would then call the candidate's ``all``."""
    reach = max(_reach(value, names) for value in values)
    if reach == _TRUSTED_PYTHON:
        _restore_all()
    return reach != _UNTRUSTED


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
            if len(keys) != len(other) or not _cleared(_EQ, keys, other):
                return False
            return dict.keys(left) == dict.keys(right) and all(
                _safe_eq(dict.__getitem__(left, key), dict.__getitem__(right, key), depth + 1)
                for key in keys
            )
        items, others = list(shape.__iter__(left)), list(shape.__iter__(right))
        return len(items) == len(others) and all(
            _safe_eq(a, b, depth + 1) for a, b in zip(items, others, strict=True)
        )
    return _cleared(_EQ, left, right) and bool(left == right)


def _plain(left: object, right: object) -> bool:
    return id(type(left)) in _PLAIN_IDS and id(type(right)) in _PLAIN_IDS


def _strict_eq(left: object, right: object) -> bool:
    if _plain(left, right) or _cleared(_EQ, left, right):
        return bool(left == right)
    return _safe_eq(left, right, 0)


def _refuse(what: str, *values: object) -> TypeError:
    names = ", ".join(type_name(type(value)) for value in values)
    return TypeError(f"test code does not trust {what} on ({names}): objects the program made")


def _allowed(left: object, right: object, names: tuple[str, ...]) -> bool:
    """Whether an operation dispatching to ``names`` may run on these operands: plain values,
    values that hold no code of the candidate's for it, or two objects of one class of the
    candidate's (whose own operators then decide, as for any object of that class)."""
    if _plain(left, right):
        return True
    if type(left) is type(right) and not _trusted_type(type(left)):
        return True
    return _cleared(names, left, right)


def _strict_in(item: object, container: Any) -> bool:
    if _cleared(_EQ, item) and _cleared(_IN, container):
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
    if id(kind) in _PLAIN_IDS or id(kind) in _SIZED_IDS or _cleared(_TRUTH, value):
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


# Built once, before any candidate runs, and handed to the one test of each forked child as it
# is: copying the builtins there would write to every builtin object (their reference counts),
# and so copy a page of this process's memory for each of dozens of them in every test.
_TEST_BUILTINS = {**_PRISTINE_BUILTINS, "__import__": _test_import}


def test_globals(namespace: dict[str, Any]) -> dict[str, Any]:
    """Globals of test code: the candidate's names, except that builtin names mean the builtins,
    modules loaded before the candidate are restored, and their names mean them (unless the
    candidate defined a function or class of that name)."""
    test_globals = {name: value for name, value in namespace.items() if name not in _BUILTIN_NAMES}
    for name, value in list(test_globals.items()):
        if id(value) in _MODULE_NAMES:
            _restore(_MODULE_NAMES[id(value)])
        elif name in _MODULES and not isinstance(value, (type, types.FunctionType)):
            test_globals[name] = _restore(name)
    test_globals.update(
        {
            "__builtins__": _TEST_BUILTINS,
            CMP_NAME: _strict_compare,
            BINOP_NAME: _strict_binop,
            TRUTH_NAME: _strict_truth,
        }
    )
    return test_globals
