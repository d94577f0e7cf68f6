"""RLTF's fine-grained error classes (arXiv 2307.04349), adapted to CPython 3.11 messages.

RLTF's published rules were written against Python 3.8 messages; 3.11 words several of them
differently ("EOL while scanning string literal" became "unterminated string literal",
"EOF while scanning triple-quoted string literal" became "unterminated triple-quoted string
literal", "unexpected EOF while parsing" is now mostly "'(' was never closed" or "expected an
indented block"). RLTF's compile-time "cannot import name" and "No module named" are run-time
ImportErrors in Python 3 and get LINE from the run-time rule. The rules below match on the
exception class and the meaning of the message; each is exercised by a real program in
``tests/sandbox/test_engine_subtypes.py``.
"""

from __future__ import annotations

import re

from crucible.sandbox_service.models import Subtype

# Compile errors that say nothing about a particular token (RLTF: IGNORE).
_COMPILE_IGNORE = (
    re.compile(r"inconsistent use of tabs and spaces"),
    re.compile(r"unindent does not match any outer indentation level"),
    re.compile(r"unterminated triple-quoted string literal"),
    re.compile(r"EOF while scanning triple-quoted string literal"),
    re.compile(r"duplicate argument .* in function definition"),
    re.compile(r"import \* only allowed at module level"),
)
# Compile errors whose line is at fault (RLTF: LINE).
_COMPILE_LINE = (re.compile(r"nonlocal"),)
# Errors that mean "the program ended early": GLOBAL when reported on the last line.
_COMPILE_EOF_LIKE = (
    re.compile(r"^invalid syntax"),
    re.compile(r"unexpected EOF while parsing"),
    re.compile(r"EOL while scanning string literal"),
    re.compile(r"unterminated string literal"),
    re.compile(r"was never closed"),
    re.compile(r"expected an indented block"),
)

# Runtime errors that implicate the whole program (RLTF: GLOBAL for timeouts and recursion).
GLOBAL_RUNTIME_TYPES = frozenset({"RecursionError"})


def compile_error_subtype(
    exc_type: str, message: str, line: int, last_line: int
) -> tuple[Subtype, int]:
    """Subtype and line of a compile error. ``line`` and ``last_line`` are in candidate
    coordinates (0 = not in the candidate). Returns the line to report (0 when IGNORE)."""
    if exc_type not in {"SyntaxError", "IndentationError", "TabError"}:
        return Subtype.IGNORE, 0
    if any(pattern.search(message) for pattern in _COMPILE_IGNORE):
        return Subtype.IGNORE, 0
    if any(pattern.search(message) for pattern in _COMPILE_LINE):
        return (Subtype.LINE, line) if line > 0 else (Subtype.IGNORE, 0)
    if any(pattern.search(message) for pattern in _COMPILE_EOF_LIKE) and line >= last_line:
        return Subtype.GLOBAL, line
    return (Subtype.LINE, line) if line > 0 else (Subtype.IGNORE, 0)


def runtime_error_subtype(exc_type: str, message: str, line: int) -> Subtype:
    """Subtype of an exception raised while a test ran (``line`` 0 = no candidate frame)."""
    if exc_type in GLOBAL_RUNTIME_TYPES:
        return Subtype.GLOBAL
    if exc_type in {"RuntimeError", "SystemExit"} or not message.strip():
        return Subtype.IGNORE
    return Subtype.LINE if line > 0 else Subtype.IGNORE
