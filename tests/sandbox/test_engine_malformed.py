"""Malformed requests get a clear error naming the problem: from the request models (what the
CLI and the server both build), from the real engine in process, and from the real engine
behind a real gRPC server (INVALID_ARGUMENT). The wire-level conversions are in test_wire."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from real_engine import LocalEngine, ServedEngine, assert_test, call_test, request

from crucible.sandbox_service.client import SandboxError
from crucible.sandbox_service.engine import RequestRejected
from crucible.sandbox_service.engine.python_runner import HARNESS_DIR
from crucible.sandbox_service.engine.strict_tests import BINOP_NAME, CMP_NAME, TRUTH_NAME
from crucible.sandbox_service.models import (
    MAX_SOURCE_BYTES,
    AssertTest,
    CallTest,
    ExecuteRequest,
    Limits,
    Status,
    Subtype,
    TestCase,
)

PASS = TestCase(body=AssertTest(code="pass"))


@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (
            lambda: ExecuteRequest(source="x = 1", tests=[PASS], stdin="1"),
            "",
            "stdin is the input of a run without tests",
        ),
        (lambda: ExecuteRequest(source="x", language="", tests=[PASS]), "language", "at least"),
        (
            lambda: ExecuteRequest(source="#" * (MAX_SOURCE_BYTES + 1), tests=[PASS]),
            "source",
            "at most 1048576",
        ),
        (
            lambda: ExecuteRequest(source="#" * 600_000, prelude="#" * 600_000, tests=[PASS]),
            "",
            "source and prelude are 1200000 bytes together; the limit is 1048576",
        ),
        (lambda: Limits(cpu_time_limit_ms=0), "cpu_time_limit_ms", "greater than 0"),
        (lambda: Limits(wall_time_limit_ms=1e9), "wall_time_limit_ms", "less than or equal"),
        (lambda: Limits(memory_limit_bytes=1 << 10), "memory_limit_bytes", "greater than"),
        (lambda: Limits(output_limit_bytes=1 << 40), "output_limit_bytes", "less than"),
        (
            lambda: CallTest(function_name="f", args_json='{"x": 1}', expected_json="1"),
            "args_json",
            "args_json must be a JSON array",
        ),
        (
            lambda: CallTest(function_name="f", args_json="[1,", expected_json="1"),
            "args_json",
            "args_json is not valid JSON",
        ),
        (
            lambda: CallTest(function_name="f", args_json="[]", expected_json="nope"),
            "expected_json",
            "expected_json is not valid JSON",
        ),
        (
            lambda: CallTest(function_name="f(1)", args_json="[]", expected_json="1"),
            "function_name",
            "should match pattern",
        ),
    ],
    ids=[
        "no-tests",
        "no-language",
        "oversized-source",
        "oversized-source-and-prelude",
        "cpu-limit-zero",
        "wall-limit-too-long",
        "memory-limit-too-small",
        "output-limit-too-large",
        "call-args-not-an-array",
        "call-args-not-json",
        "expected-not-json",
        "function-name-not-a-name",
    ],
)
def test_malformed_request_names_the_field(
    build: Callable[[], Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    error = caught.value.errors()[0]
    assert error["loc"][-1:] == ((field,) if field else ())
    assert words in str(caught.value)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalEngine]:
    engine = LocalEngine("pooled", workers=1)
    yield engine
    engine.close()


def test_the_engine_rejects_an_unknown_language(local: LocalEngine) -> None:
    with pytest.raises(RequestRejected, match=r"language 'cobol' is not supported.*python"):
        local.run(request("x = 1", assert_test("pass"), language="cobol"))


@pytest.mark.parametrize(
    "code",
    [
        "assert (",
        # parses, but the compiler rejects it: once crashed the harness (SANDBOX_ERROR)
        "assert f(1 for i in x in (y := 2))",
        "assert f(1 for i in (y := [1]))",
    ],
)
def test_the_engine_rejects_test_code_that_does_not_compile(local: LocalEngine, code: str) -> None:
    with pytest.raises(RequestRejected, match=r"tests\[1\]\.assert_test\.code does not compile"):
        local.run(request("x = 1", assert_test("pass"), assert_test(code)))


def test_test_code_the_strict_rewrite_cannot_express_is_rejected_with_the_reason(
    local: LocalEngine,
) -> None:
    # A chained comparison in a comprehension's iterable takes lambda temporaries, and an
    # await cannot move into a lambda: valid Python that the strict rewrite cannot carry.
    code = (
        "async def g():\n    return 1\n"
        "async def f():\n    return [x for x in range(2 if 0 < 1 < await g() else 3)]\n"
    )
    compile(code, "<as written>", "exec")
    with pytest.raises(
        RequestRejected, match=r"tests\[0\]\.assert_test\.code compiles but not with strict"
    ):
        local.run(request("x = 1", assert_test(code)))


def test_call_arguments_the_function_does_not_take_are_the_programs_error(
    local: LocalEngine,
) -> None:
    verdict = local.run(request("def f(a):\n    return a\n", call_test("f", [1, 2], 1)))
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.error is not None and verdict.error.type == "TypeError"
    assert "takes 1 positional argument but 2 were given" in verdict.error.message


def test_a_call_test_naming_a_missing_function_is_the_programs_error(local: LocalEngine) -> None:
    verdict = local.run(request("def f(a):\n    return a\n", call_test("g", [1], 1)))
    assert verdict.status is Status.RUNTIME_ERROR
    assert verdict.error is not None
    assert (verdict.error.type, verdict.error.message) == ("NameError", "name 'g' is not defined")
    assert (verdict.error.line, verdict.error.subtype) == (0, Subtype.IGNORE)


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEngine]:
    engine = ServedEngine("pooled", workers=1)
    yield engine
    engine.close()


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (request("x = 1", assert_test("pass"), language="cobol"), "language 'cobol'"),
        (request("x = 1", assert_test("assert (")), "tests[0].assert_test.code"),
    ],
    ids=["unknown-language", "unparsable-test-code"],
)
def test_the_server_answers_invalid_argument_naming_the_problem(
    served: ServedEngine, bad: ExecuteRequest, words: str
) -> None:
    with pytest.raises(SandboxError) as caught:
        served.run(bad)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("test_code", "status"),
    [
        ("assert all(v for v in [add(1, 1) < 3 < 4])", Status.PASSED),
        ("assert all(v for v in [4 < add(1, 1) < 3])", Status.WRONG_ANSWER),
        # the middle operand runs once, and the last only when the first comparison holds
        (
            "calls = []\nassert all(v for v in [0 < len(calls.append(1) or calls) < 5])\n"
            "assert calls == [1]",
            Status.PASSED,
        ),
        (
            "calls = []\nassert not all(v for v in [5 < len(calls) < calls.append(2)])\n"
            "assert calls == []",
            Status.PASSED,
        ),
    ],
)
def test_chained_comparisons_where_assignment_expressions_are_refused(
    local: LocalEngine, test_code: str, status: Status
) -> None:
    """The harness rewrites comparisons through its strict helpers; inside a comprehension's
    iterable it cannot use assignment expressions for a chain's temporaries (this once crashed
    the harness: SANDBOX_ERROR for a caller's valid test)."""
    verdict = local.run(request("def add(a, b):\n    return a + b\n", assert_test(test_code)))
    assert verdict.status is status, verdict.error


def test_the_harness_binds_the_helpers_under_the_names_the_rewrite_calls() -> None:
    harness = (HARNESS_DIR / "python_strict.py").read_text()
    for name, value in {
        "CMP_NAME": CMP_NAME,
        "BINOP_NAME": BINOP_NAME,
        "TRUTH_NAME": TRUTH_NAME,
    }.items():
        assert f'\n{name} = "{value}"\n' in harness
