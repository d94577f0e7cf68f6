"""Lines in the candidate's own coordinates (a prelude's lines subtracted), the deepest
candidate frame, compile-error lines, and coverage's executed and executable lines, exact,
through the real engine in both isolation modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from real_engine import LocalEngine, assert_test, call_test, request

from crucible.sandbox_service.models import Status

PRELUDE = "import json\n\n\ndef helper(x):\n    return json.loads(x)\n"  # five lines


@pytest.fixture(scope="module", params=["strict", "pooled"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[LocalEngine]:
    engine = LocalEngine(request.param)
    yield engine
    engine.close()


def test_runtime_error_line_is_in_the_candidates_coordinates(sandbox: LocalEngine) -> None:
    source = "def f(x):\n    y = x + 1\n    return y / 0\n"
    verdict = sandbox.run(request(source, assert_test("f(1)"), prelude=PRELUDE))
    assert verdict.error is not None
    assert (verdict.error.type, verdict.error.line) == ("ZeroDivisionError", 3)
    assert 'File "solution.py", line 3, in f' in verdict.error.traceback
    assert "return y / 0" in verdict.error.traceback


def test_the_deepest_candidate_frame_is_reported(sandbox: LocalEngine) -> None:
    source = (
        "def outer(x):\n"
        "    return middle(x)\n"
        "def middle(x):\n"
        "    return inner(x)\n"
        "def inner(x):\n"
        "    return helper(x)\n"  # the prelude, then the standard library, raise below here
    )
    verdict = sandbox.run(request(source, assert_test("outer('not json')"), prelude=PRELUDE))
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.error is not None
    assert (verdict.error.type, verdict.error.line) == ("JSONDecodeError", 6)
    assert "File <prelude>, in helper" in verdict.error.traceback


def test_compile_error_line_with_a_prelude(sandbox: LocalEngine) -> None:
    source = "def f(x):\n    return x +\n"
    verdict = sandbox.run(request(source, assert_test("pass"), prelude=PRELUDE))
    assert verdict.status is Status.COMPILE_ERROR
    assert verdict.error is not None and verdict.error.line == 2


def test_a_compile_error_in_the_prelude_has_no_candidate_line(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request("x = 1\n", assert_test("pass"), prelude="def broken(:\n"))
    assert verdict.status is Status.COMPILE_ERROR
    assert verdict.error is not None and verdict.error.line == 0


BRANCHY = (
    "def sign(x):\n"  # 1
    "    if x > 0:\n"  # 2
    "        return 1\n"  # 3
    "    elif x < 0:\n"  # 4
    "        return -1\n"  # 5
    "    return 0\n"  # 6
    "\n"
    "def unused():\n"  # 8
    "    return 42\n"  # 9
)


def test_executed_lines_are_exact_and_leave_out_the_branch_not_taken(
    sandbox: LocalEngine,
) -> None:
    verdict = sandbox.run(
        request(BRANCHY, call_test("sign", [5], 1), prelude=PRELUDE, collect_coverage=True)
    )
    assert verdict.status is Status.PASSED
    assert verdict.coverage_collected
    assert verdict.executed_lines == [1, 2, 3, 8]


def test_executed_lines_are_the_union_over_tests(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(
        request(
            BRANCHY,
            call_test("sign", [5], 1),
            assert_test("assert sign(-2) == -1"),
            collect_coverage=True,
        )
    )
    assert verdict.executed_lines == [1, 2, 3, 4, 5, 8]


def test_executed_lines_of_a_failing_test_stop_at_the_failure(sandbox: LocalEngine) -> None:
    source = "def f(x):\n    y = x * 2\n    z = y / x\n    return z\n"
    verdict = sandbox.run(request(source, assert_test("f(0)"), collect_coverage=True))
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.executed_lines == [1, 2, 3]


def test_no_executed_lines_unless_asked(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request(BRANCHY, call_test("sign", [5], 1)))
    assert verdict.executed_lines == [] and not verdict.coverage_collected


NESTED = (
    "class Counter:\n"  # 1
    "    def __init__(self):\n"  # 2
    "        self.n = 0\n"  # 3
    "    def bump(self, k):\n"  # 4
    "        self.n += sum(i for i in range(k))\n"  # 5
    "        return self\n"  # 6
    "\n"
    "def make(k):\n"  # 8
    "    scale = lambda x: x * 2\n"  # 9
    "    values = [scale(v) for v in range(k)]\n"  # 10
    "    try:\n"  # 11
    "        values.append(1 // (k - k))\n"  # 12
    "    except ZeroDivisionError:\n"  # 13
    "        values.append(-1)\n"  # 14
    "    return Counter().bump(len(values)).n, values\n"  # 15
    "\n"
    "def never():\n"  # 17
    "    return 0\n"  # 18
)


def test_executed_lines_reach_into_methods_lambdas_comprehensions_and_handlers(
    sandbox: LocalEngine,
) -> None:
    # Line probes go into every nested code object (methods, lambda, generator, list
    # comprehension); the body of never() is the only code line that does not run.
    verdict = sandbox.run(
        request(NESTED, assert_test("assert make(3) == (6, [0, 2, 4, -1])"), collect_coverage=True)
    )
    assert verdict.status is Status.PASSED
    assert verdict.executed_lines == [*range(1, 7), *range(8, 16), 17]


def test_coverage_leaves_error_lines_and_tracebacks_as_they_are(sandbox: LocalEngine) -> None:
    # The probes are calls inserted into the candidate's bytecode: the line table must still
    # map every instruction to its own line, or errors would point at the wrong line.
    source = "def pick(xs):\n    total = 0\n    return [total / x for x in xs]\n"
    plain, probed = (
        sandbox.run(request(source, assert_test("pick([2, 0])"), collect_coverage=coverage))
        for coverage in (False, True)
    )
    assert plain.error is not None and probed.error is not None
    assert (probed.error.type, probed.error.line) == ("ZeroDivisionError", 3)
    assert probed.error.traceback == plain.error.traceback
    assert probed.executed_lines == [1, 2, 3]


MULTILINE = (
    "import functools\n"  # 1
    "\n"  # 2
    "@functools.lru_cache(\n"  # 3
    "    maxsize=None)\n"  # 4
    "def pick(x):\n"  # 5
    "    # choose a side\n"  # 6
    "    if (x > 0 and\n"  # 7
    "            x < 10):\n"  # 8
    "        return [\n"  # 9
    "            x,\n"  # 10
    "            x * 2,\n"  # 11
    "        ]\n"  # 12
    "    else:\n"  # 13
    "        return [\n"  # 14
    "            -x,\n"  # 15
    "        ]\n"  # 16
)


def test_a_statement_that_ran_counts_on_every_line_it_spans(sandbox: LocalEngine) -> None:
    # slipcover probes one line of the decorator, the condition and the list display; coverage.py
    # says which lines each statement spans. Blank (2), comment (6) and `else:` (13) lines are no
    # statements: in neither list. The only lines that did not run are the untaken return's.
    verdict = sandbox.run(
        request(MULTILINE, assert_test("assert pick(3) == [3, 6]"), collect_coverage=True)
    )
    assert verdict.status is Status.PASSED
    assert verdict.executed_lines == [1, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert verdict.executable_lines == [1, 3, 4, 5, *range(7, 13), 14, 15, 16]
    missing = sorted(set(verdict.executable_lines) - set(verdict.executed_lines))
    assert missing == [14, 15, 16]


def test_executable_lines_of_a_candidate_that_continues_its_prelude(sandbox: LocalEngine) -> None:
    # A HumanEval-style body does not parse alone: the whole file is analysed, and only the
    # candidate's statements are reported, in its coordinates.
    source = "    y = (x +\n         1)\n    if y > 5:\n        return 0\n    return y\n"
    verdict = sandbox.run(
        request(
            source, assert_test("assert f(1) == 2"), prelude="def f(x):\n", collect_coverage=True
        )
    )
    assert verdict.status is Status.PASSED
    assert (verdict.executed_lines, verdict.executable_lines) == ([1, 2, 3, 5], [1, 2, 3, 4, 5])


def test_a_candidate_cannot_exclude_its_own_lines(sandbox: LocalEngine) -> None:
    # coverage.py's exclusion pragma would drop the line from the statements: not here.
    source = "def f(x):\n    if x:\n        return 1  # pragma: no cover\n    return 0\n"
    verdict = sandbox.run(request(source, assert_test("assert f(0) == 0"), collect_coverage=True))
    assert verdict.executable_lines == [1, 2, 3, 4]
    assert verdict.executed_lines == [1, 2, 4]


def test_no_executable_lines_unless_asked(sandbox: LocalEngine) -> None:
    verdict = sandbox.run(request(MULTILINE, assert_test("assert pick(3) == [3, 6]")))
    assert verdict.executable_lines == [] and verdict.executed_lines == []


def test_every_pooled_worker_is_alike_whether_or_not_it_served_coverage(
    sandbox: LocalEngine,
) -> None:
    # A test's CPU time includes its fork and exit, which grow with what the worker holds: a
    # pooled worker loads the line probes at start, not on its first coverage job, so CPU
    # times do not depend on which worker ran a test. A strict jail loads them only when asked.
    probe = "import sys\nloaded = 'slipcover.slipcover' in sys.modules\n"
    verdict = sandbox.run(request(probe, assert_test("assert loaded")))
    expected = Status.PASSED if sandbox.isolation == "pooled" else Status.WRONG_ANSWER
    assert verdict.status is expected
