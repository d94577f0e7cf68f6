"""RLTF's fine-grained error classes (methods.md) as ``sandbox_service.engine.python_errors``
adapts them to CPython 3.11: each rule reached by a real program through the real engine.

Compile errors report a line only for LINE and GLOBAL. Runtime errors always report the line of
the deepest traceback frame in the candidate's own code (0 when there is none); IGNORE then
means "no tokens to blame", not "no line".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from real_engine import LocalEngine, assert_test, request

from crucible.sandbox_service.models import Status, Subtype


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalEngine]:
    engine = LocalEngine("pooled")
    yield engine
    engine.close()


COMPILE_CASES = [
    # (source, exception type, words of its message, subtype, line)
    (
        "if True:\n\tx = 1\n        y = 2\n",
        "TabError",
        "inconsistent use of tabs and spaces",
        Subtype.IGNORE,
        0,
    ),
    (
        "if True:\n    x = 1\n  y = 2\n",
        "IndentationError",
        "unindent does not match",
        Subtype.IGNORE,
        0,
    ),
    ('s = """never\nclosed\n', "SyntaxError", "unterminated triple-quoted", Subtype.IGNORE, 0),
    ("def f(a, a):\n    pass\n", "SyntaxError", "duplicate argument", Subtype.IGNORE, 0),
    (
        "def f():\n    from os import *\n",
        "SyntaxError",
        "import * only allowed at module level",
        Subtype.IGNORE,
        0,
    ),
    ("x = 1\nnonlocal x\n", "SyntaxError", "nonlocal declaration", Subtype.LINE, 2),
    (
        "def f():\n    nonlocal y\n    return 1\n",
        "SyntaxError",
        "no binding for nonlocal",
        Subtype.LINE,
        2,
    ),
    # "unexpected EOF" / "EOL while scanning" / "invalid syntax" are GLOBAL on the last line...
    ("x = 1\ny = (1,\n", "SyntaxError", "was never closed", Subtype.GLOBAL, 2),
    ("x = 1\ns = 'abc\n", "SyntaxError", "unterminated string literal", Subtype.GLOBAL, 2),
    ("x = 1\ny = = 2\n", "SyntaxError", "invalid syntax", Subtype.GLOBAL, 2),
    ("x = 1\ndef f():\n", "IndentationError", "expected an indented block", Subtype.GLOBAL, 2),
    # ... and LINE anywhere else.
    ("y = (1,\nx = 1\nz = 2\n", "SyntaxError", "was never closed", Subtype.LINE, 1),
    ("s = 'abc\nx = 1\n", "SyntaxError", "unterminated string literal", Subtype.LINE, 1),
    ("y = = 2\nx = 1\n", "SyntaxError", "invalid syntax", Subtype.LINE, 1),
    # Any other SyntaxError: LINE at its reported line.
    ("x = 1\n1 = x\ny = 2\n", "SyntaxError", "cannot assign to literal", Subtype.LINE, 2),
    ("x = 1\nprint 'hi'\n", "SyntaxError", "Missing parentheses", Subtype.LINE, 2),
    # A compile failure that is no SyntaxError (the parser runs out of memory): IGNORE.
    ("x = " + "-" * 100_000 + "1\n", "MemoryError", "", Subtype.IGNORE, 0),
]


@pytest.mark.parametrize(
    ("source", "exc_type", "words", "subtype", "line"),
    COMPILE_CASES,
    ids=[f"{case[1]}-{case[2] or 'no message'}-{case[3].value}" for case in COMPILE_CASES],
)
def test_compile_error_subtype(
    sandbox: LocalEngine, source: str, exc_type: str, words: str, subtype: Subtype, line: int
) -> None:
    verdict = sandbox.run(request(source, assert_test("pass")))
    assert verdict.status is Status.COMPILE_ERROR
    error = verdict.error
    assert error is not None
    assert (error.type, error.subtype, error.line) == (exc_type, subtype, line), error
    assert words in error.message


RUNTIME_CASES = [
    # (source, test code, status, exception type, subtype, line)
    ("def f():\n    raise RuntimeError\n", "f()", "RuntimeError", Subtype.IGNORE, 2),
    (
        "def f():\n    raise RuntimeError('with a message')\n",
        "f()",
        "RuntimeError",
        Subtype.IGNORE,
        2,
    ),
    ("def f():\n    raise ValueError()\n", "f()", "ValueError", Subtype.IGNORE, 2),
    ("import sys\ndef f():\n    sys.exit(3)\n", "f()", "SystemExit", Subtype.IGNORE, 3),
    ("def f(n):\n    return f(n + 1)\n", "f(0)", "RecursionError", Subtype.GLOBAL, 2),
    ("def f():\n    return undefined_name\n", "f()", "NameError", Subtype.LINE, 2),
    ("def f():\n    return 1 + 'a'\n", "f()", "TypeError", Subtype.LINE, 2),
    ("def f():\n    x = []\n    return x[3]\n", "f()", "IndexError", Subtype.LINE, 3),
    ("def f():\n    return int('seven')\n", "f()", "ValueError", Subtype.LINE, 2),
    ("import no_such_module\n", "pass", "ModuleNotFoundError", Subtype.LINE, 1),
    ("x = 1\nfrom os import no_such_name\n", "pass", "ImportError", Subtype.LINE, 2),
    # The traceback never enters the candidate: no line, IGNORE.
    ("def f():\n    return 1\n", "g()", "NameError", Subtype.IGNORE, 0),
    # An AssertionError raised by the candidate's own code is a runtime error, not a failure.
    (
        "def f(x):\n    assert x > 0, 'positive'\n    return x\n",
        "f(-1)",
        "AssertionError",
        Subtype.LINE,
        2,
    ),
]


@pytest.mark.parametrize(
    ("source", "test", "exc_type", "subtype", "line"),
    RUNTIME_CASES,
    ids=[f"{case[2]}-{case[3].value}-{index}" for index, case in enumerate(RUNTIME_CASES)],
)
def test_runtime_error_subtype(
    sandbox: LocalEngine, source: str, test: str, exc_type: str, subtype: Subtype, line: int
) -> None:
    verdict = sandbox.run(request(source, assert_test(test)))
    assert verdict.status is Status.RUNTIME_ERROR
    error = verdict.error
    assert error is not None
    assert (error.type, error.subtype, error.line) == (exc_type, subtype, line), error


def test_timeout_is_global(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request("def f():\n    while True:\n        pass\n", assert_test("f()")))
    assert verdict.status is Status.TIME_LIMIT_EXCEEDED
    assert verdict.error is not None and verdict.error.subtype is Subtype.GLOBAL


def test_a_failed_test_is_ignore_and_a_pass_has_no_error(sandbox: LocalEngine) -> None:
    source = "def f(x):\n    return x + 1\n"
    failed = sandbox.run(request(source, assert_test("assert f(1) == 3")))
    assert failed.status is Status.WRONG_ANSWER
    assert failed.error is not None and failed.error.subtype is Subtype.IGNORE
    passed = sandbox.run(request(source, assert_test("assert f(1) == 2")))
    assert passed.status is Status.PASSED and passed.error is None
