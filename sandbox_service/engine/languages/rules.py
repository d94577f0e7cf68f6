"""RLTF's fine-grained error classes (arXiv 2307.04349) for compilers and non-Python runtimes.

RLTF wrote its rules for Python: IGNORE for errors that implicate no particular token (tab/space
mix-ups, an unterminated triple-quoted string, a duplicate argument), LINE for a missing import
or an unknown name and for any other error at its reported line, GLOBAL for "unexpected EOF"
(the program ended early) and for timeouts and unbounded recursion. The table below carries
each rule over to the compiler that reports the same kind of error; ``docs/languages.md``
prints the same table, and ``tests/sandbox/test_languages_rules.py`` reaches every row with a
real program. The first matching row decides; an error in a file that is not the candidate's
(test code, a linker's "undefined reference") is IGNORE with line 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crucible.sandbox_service.models import Subtype

C_FAMILY = ("c", "cpp")
ALL = ("c", "cpp", "java", "javascript", "rust", "go")


@dataclass(frozen=True)
class Rule:
    """A compile-error message pattern of some languages and the subtype it gets."""

    languages: tuple[str, ...]
    pattern: re.Pattern[str]
    subtype: Subtype
    reason: str


def _rule(languages: tuple[str, ...], pattern: str, subtype: Subtype, reason: str) -> Rule:
    return Rule(languages, re.compile(pattern), subtype, reason)


_G, _L, _I = Subtype.GLOBAL, Subtype.LINE, Subtype.IGNORE

COMPILE_RULES: tuple[Rule, ...] = (
    # GLOBAL: the program ends early (RLTF: "unexpected EOF while parsing").
    _rule(C_FAMILY, r"at end of input", _G, "unexpected end of file"),
    _rule(("java",), r"reached end of file while parsing", _G, "unexpected end of file"),
    _rule(("javascript",), r"Unexpected end of input", _G, "unexpected end of file"),
    _rule(("rust",), r"this file contains an unclosed delimiter", _G, "unexpected end of file"),
    _rule(("go",), r"unexpected EOF", _G, "unexpected end of file"),
    # IGNORE: an unterminated comment or multi-line string swallows the rest of the file
    # (RLTF: EOF in a triple-quoted string), and a duplicate parameter (RLTF: duplicate
    # argument) says nothing about a token worth blaming.
    _rule(C_FAMILY, r"unterminated comment", _I, "unterminated comment"),
    _rule(("java",), r"unclosed comment", _I, "unterminated comment"),
    _rule(("rust",), r"unterminated block comment", _I, "unterminated comment"),
    _rule(("go",), r"comment not terminated", _I, "unterminated comment"),
    _rule(("rust",), r"unterminated double quote string", _I, "unterminated multi-line string"),
    _rule(("go",), r"string not terminated", _I, "unterminated raw (multi-line) string"),
    _rule(("c",), r"redefinition of parameter", _I, "duplicate argument"),
    _rule(("javascript",), r"Duplicate parameter name", _I, "duplicate argument"),
    _rule(("rust",), r"is bound more than once in this parameter list", _I, "duplicate argument"),
    # IGNORE: a program without an entry point (C/C++ report it as a link error, line 0).
    _rule(("rust",), r"`main` function not found", _I, "no main function"),
    # LINE: a missing include/import or an unknown name (RLTF: "No module named",
    # "cannot import name").
    _rule(C_FAMILY, r"No such file or directory", _L, "missing include"),
    _rule(C_FAMILY, r"undeclared|was not declared in this scope", _L, "unknown name"),
    _rule(C_FAMILY, r"implicit declaration of function", _L, "unknown function"),
    _rule(C_FAMILY, r"unknown type name|does not name a (template )?type", _L, "unknown type"),
    _rule(C_FAMILY, r"is not a member of|has no member named", _L, "unknown member"),
    _rule(("java",), r"package \S+ does not exist", _L, "missing import"),
    _rule(("java",), r"cannot find symbol", _L, "unknown name"),
    _rule(("javascript",), r"Cannot use import statement", _L, "import outside a module"),
    _rule(("rust",), r"unresolved import|failed to resolve", _L, "missing import"),
    _rule(("rust",), r"cannot find (value|function|type|macro|struct|trait)", _L, "unknown name"),
    _rule(("go",), r"cannot find package|could not import|is not in GOROOT", _L, "missing import"),
    _rule(("go",), r"^undefined:", _L, "unknown name"),
)


def compile_subtype(language: str, message: str, line: int, last_line: int) -> tuple[Subtype, int]:
    """Subtype of a compile error and the line to report. ``line`` is in the candidate's
    coordinates (0 = not in the candidate); a line past the end (compilers report EOF errors
    on the line after a final newline) is the last line."""
    if line <= 0:
        return _I, 0
    line = min(line, max(last_line, 1))
    rule = matching_rule(language, message)
    if rule is None:
        return _L, line
    return rule.subtype, (0 if rule.subtype is _I else line)


def matching_rule(language: str, message: str) -> Rule | None:
    """The first row of :data:`COMPILE_RULES` for ``language`` that ``message`` matches."""
    for rule in COMPILE_RULES:
        if language in rule.languages and rule.pattern.search(message):
            return rule
    return None


# Runtime error classes that implicate the whole program (RLTF: RecursionError, timeouts).
GLOBAL_RUNTIME_TYPES = frozenset(
    {
        "StackOverflow",  # C, C++ (a SIGSEGV on the stack guard), Rust, Go
        "StackOverflowError",  # Java
        "TimeLimitExceeded",
        "MemoryLimitExceeded",
    }
)
_JS_RECURSION = re.compile(r"Maximum call stack size exceeded")


def runtime_subtype(language: str, error_type: str, message: str, line: int) -> Subtype:
    """Subtype of a runtime error: GLOBAL for unbounded recursion, IGNORE without a message
    or a candidate line (bare exits, signals outside the candidate), else LINE."""
    if error_type in GLOBAL_RUNTIME_TYPES:
        return _G
    if language == "javascript" and error_type == "RangeError" and _JS_RECURSION.search(message):
        return _G
    if not message.strip() or line <= 0:
        return _I
    return _L
