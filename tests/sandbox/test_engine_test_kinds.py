"""The three test kinds and the three checkers through the real engine: values and outputs are
compared on the trusted side; failing call and stdio tests carry actual and expected; captured
output is bounded with a ``truncated`` flag."""

from __future__ import annotations

import pytest
from real_engine import LocalEngine, assert_test, call_test, checker, request, stdio_test

from crucible.sandbox_service.models import CheckerKind, Status

FUNCTIONS = (
    "def add(a, b):\n    return a + b\n"
    "def words(text):\n    return text.split()\n"
    "def third():\n    return 0.1 + 0.2\n"
    "def shout(text):\n    return text.upper() + '  \\n\\n'\n"
    "def table():\n    return {'a': [1, 2.5, None, True], 'b': {'c': 'd'}}\n"
    "class Solution:\n    def twice(self, x):\n        return 2 * x\n"
)
ECHO_SUM = (
    "import sys\nnumbers = [float(x) for x in sys.stdin.read().split()]\nprint(sum(numbers))\n"
)


@pytest.fixture
def sandbox(pooled_engine: LocalEngine) -> LocalEngine:
    """The session's real pooled engine (tests/conftest.py)."""
    return pooled_engine


def statuses(sandbox: LocalEngine, source: str, *tests: object) -> list[Status]:
    verdict = sandbox.run(request(source, *tests))  # type: ignore[arg-type]
    return [test.status for test in verdict.tests]


def test_assert_tests_pass_and_fail(sandbox: LocalEngine) -> None:
    assert statuses(
        sandbox,
        FUNCTIONS,
        assert_test("assert add(2, 2) == 4\nassert words('a b') == ['a', 'b']"),
        assert_test("assert add(2, 2) == 5"),
    ) == [Status.PASSED, Status.WRONG_ANSWER]


def test_call_tests_with_the_exact_checker(sandbox: LocalEngine) -> None:
    assert (
        statuses(
            sandbox,
            FUNCTIONS,
            call_test("add", [2, 3], 5),
            call_test("table", [], {"a": [1, 2.5, None, True], "b": {"c": "d"}}),
            call_test("Solution.twice", [21], 42),
            call_test("add", [2, 3], 5.0),  # exact: the int 5 is not the float 5.0
            call_test("add", [0, 1], True),  # nor the boolean true
            call_test("third", [], 0.3),
        )
        == [Status.PASSED] * 3 + [Status.WRONG_ANSWER] * 3
    )


def test_call_tests_with_the_float_and_whitespace_checkers(sandbox: LocalEngine) -> None:
    loose = checker("float", float_absolute_tolerance=0.05, float_relative_tolerance=0.0)
    assert statuses(
        sandbox,
        FUNCTIONS,
        call_test("third", [], 0.3, checker("float")),
        call_test("third", [], 0.31, checker("float")),
        call_test("third", [], 0.34, loose),
        call_test("third", [], 0.36, loose),
        call_test("add", [2, 3], 5.0, checker("float")),
        call_test("shout", ["hi"], "HI", checker("whitespace")),
        call_test("shout", ["hi"], "HI", checker("exact")),
    ) == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
        Status.PASSED,
        Status.WRONG_ANSWER,
    ]


def test_a_failing_call_test_shows_actual_and_expected(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request(FUNCTIONS, call_test("words", ["x y"], ["x"])))
    test = verdict.tests[0]
    assert test.status is Status.WRONG_ANSWER
    assert (test.actual, test.expected) == ('["x", "y"]', '["x"]')
    assert test.checker is not None and test.checker.kind is CheckerKind.EXACT
    assert test.error is not None and test.error.type == "WrongAnswer"


def test_stdio_tests_with_each_checker(sandbox: LocalEngine) -> None:
    assert statuses(
        sandbox,
        ECHO_SUM,
        stdio_test("1 2\n", "3.0\n", checker("exact")),
        stdio_test("1 2\n", "3.0", checker("exact")),
        stdio_test("1 2\n", "3.0   \n\n\n", checker("whitespace")),
        stdio_test("1 2\n", "3.0\n"),  # default: whitespace
        stdio_test("0.1 0.2\n", "0.3\n", checker("float")),
        stdio_test("0.1 0.2\n", "0.3\n", checker("whitespace")),
        stdio_test("1 2\n", "3.1\n", checker("float")),
    ) == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
        Status.PASSED,
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.WRONG_ANSWER,
    ]


def test_a_failing_stdio_test_shows_actual_and_expected(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request(ECHO_SUM, stdio_test("2 2\n", "5.0\n")))
    test = verdict.tests[0]
    assert test.status is Status.WRONG_ANSWER
    assert (test.actual, test.expected, test.stdout) == ("4.0\n", "5.0\n", "4.0\n")
    assert test.checker is not None and test.checker.kind is CheckerKind.WHITESPACE


def test_long_output_is_truncated_but_compared_whole(sandbox: LocalEngine) -> None:
    text = "".join(f"{number:07d}\n" for number in range(20_000))  # 160 KB
    source = "import sys\nsys.stdout.write(sys.stdin.read())\nsys.stderr.write('e' * 100_000)\n"
    verdict = sandbox.run(request(source, stdio_test(text, text)))
    test = verdict.tests[0]
    assert test.status is Status.PASSED
    assert test.stdout_truncated and test.stderr_truncated
    assert text.startswith(test.stdout) and len(test.stdout) == 64 << 10
    assert test.stderr == "e" * (64 << 10)


def test_a_job_whose_records_outgrow_the_harness_hold_gets_every_result(
    sandbox: LocalEngine,
) -> None:
    # The harness holds a job's records to write them at once, up to 1 MiB (python_harness
    # _HOLD_CHARACTERS): two records of 600 KB go out before the third.
    text = "".join(f"{number:07d}\n" for number in range(75_000))  # 600 KB
    source = "import sys\nsys.stdout.write(sys.stdin.read())\n"
    tests = [stdio_test(text, text), stdio_test(text, text + "x"), stdio_test("1\n", "1\n")]
    verdict = sandbox.run(request(source, *tests))
    assert [test.status for test in verdict.tests] == [
        Status.PASSED,
        Status.WRONG_ANSWER,
        Status.PASSED,
    ]
    assert [test.stdout_truncated for test in verdict.tests] == [True, True, False]


def test_short_output_is_not_truncated(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request("print('hi')\n", stdio_test("", "hi\n")))
    test = verdict.tests[0]
    assert (test.stdout, test.stdout_truncated, test.stderr_truncated) == ("hi\n", False, False)


def test_an_unserialisable_return_value_fails_the_call_test(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request("def f():\n    return {1, 2}\n", call_test("f", [], [1, 2])))
    test = verdict.tests[0]
    assert test.status is Status.WRONG_ANSWER
    assert test.actual == "<not JSON data: a value of type set>"


HONEST = (
    "import collections, dataclasses, decimal, enum, fractions\n"
    "class Color(enum.IntEnum):\n"
    "    RED = 1\n"
    "class Name(str):\n"
    "    pass\n"
    "Pair = collections.namedtuple('Pair', 'a b')\n"
    "@dataclasses.dataclass\n"
    "class Point:\n"
    "    x: int\n"
    "    y: int\n"
    "def counts(text):\n    return collections.Counter(text)\n"
    "def grouped():\n"
    "    table = collections.defaultdict(lambda: [])\n"
    "    table['a'].append(1)\n"
    "    return table\n"
    "def pair():\n    return Pair(1, 2)\n"
    "def third():\n    return fractions.Fraction(1, 3)\n"
    "def money():\n    return decimal.Decimal('1.10')\n"
    "def point():\n    return Point(1, 2)\n"
    "def mean(values):\n    return sum(values) / len(values)\n"
    "def primes():\n    return [2, 3, 5, 7]\n"
    "def nothing():\n    return None\n"
    "def color():\n    return Color.RED\n"
    "def name():\n    return Name('ada')\n"
    "def tagged(text):\n    collections.TAG = 'mine'\n    return collections.Counter(text)\n"
)
HONEST_TESTS = [
    "assert counts('aab') == {'a': 2, 'b': 1}",
    "assert grouped() == {'a': [1]}",
    "assert pair() == (1, 2) and pair().a == 1",
    "assert third() == fractions.Fraction(2, 6) and third() + third() == fractions.Fraction(2, 3)",
    "assert money() == decimal.Decimal('1.1') and money() + 1 == decimal.Decimal('2.10')",
    "assert point() == Point(1, 2) and point() != Point(2, 1)",
    "assert abs(mean([1.0, 2.0]) - 1.5) < 1e-9 and 1.4 < mean([1.0, 2.0]) <= 1.5",
    "assert 5 in primes() and 4 not in primes() and primes() and not []",
    "assert nothing() is None and (nothing() or 'x') == 'x'",
    "assert [p * 2 for p in primes() if p > 2] == [6, 10, 14]",
    "assert {p: p % 3 for p in primes()}[7] == 1 and sorted({3, 1, 2}) == [1, 2, 3]",
    "values = primes()\nwhile values:\n    values = values[1:]\nassert values == []",
    "x = 'yes' if primes() else 'no'\nassert x == 'yes'",
    "assert color() == 1 and color() < 2 and color() + 1 == 2 and [color()] == [1]",
    "assert name() == 'ada' and name() in ['ada'] and name() + '!' == 'ada!' and name()",
    # The called function changes a standard module; its Counter still compares by its rules.
    "assert tagged('ab') == collections.Counter('ba') and tagged('a') != collections.Counter('b')",
]


def test_test_code_keeps_python_semantics_for_honest_programs(sandbox: LocalEngine) -> None:
    """Assert tests run with comparisons, arithmetic and truth tests rewritten against reward
    hacks; honest programs returning standard-library and their own objects still pass."""
    verdict = sandbox.run(request(HONEST, *(assert_test(code) for code in HONEST_TESTS)))
    failures = [
        (code, test.error)
        for code, test in zip(HONEST_TESTS, verdict.tests, strict=True)
        if test.status is not Status.PASSED
    ]
    assert not failures
