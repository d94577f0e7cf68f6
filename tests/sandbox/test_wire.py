"""The proto <-> model conversion: round trips, proto3 zero values, and error messages that name
the offending field by its proto path."""

from __future__ import annotations

import pytest

from crucible.sandbox.v1 import sandbox_pb2 as pb
from crucible.sandbox_service import wire
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    Capabilities,
    CheckerKind,
    ErrorInfo,
    ExecuteRequest,
    ExecuteResponse,
    IsolationMode,
    Language,
    Limits,
    OutputChecker,
    ResolvedLimits,
    Status,
    StdioTest,
    Subtype,
)

# Aliased so pytest does not try to collect the models as test classes.
from crucible.sandbox_service.models import TestCase as Case
from crucible.sandbox_service.models import TestResult as Result

FULL_REQUEST = ExecuteRequest(
    request_id="r-1",
    language="python",
    source="def f(x):\n    return x\n",
    prelude="import math\n",
    tests=[
        Case(name="a", body=AssertTest(code="assert f(1) == 1")),
        Case(
            name="c",
            body=CallTest(function_name="Solution.f", args_json="[1, [2]]", expected_json="1"),
            checker=OutputChecker(
                kind=CheckerKind.FLOAT, float_absolute_tolerance=1e-3, float_relative_tolerance=0.5
            ),
        ),
        Case(body=StdioTest(stdin="1\n", expected_stdout="1\n")),
    ],
    limits=Limits(
        cpu_time_limit_ms=1500.0,
        wall_time_limit_ms=5000.0,
        memory_limit_bytes=256 << 20,
        output_limit_bytes=1 << 20,
    ),
    collect_coverage=True,
    stop_on_first_failure=True,
    tests_share_process=True,
)

ERROR = ErrorInfo(
    type="ZeroDivisionError",
    message="division by zero",
    line=3,
    traceback='File "solution.py", line 3',
    subtype=Subtype.LINE,
    test_index=1,
)
FULL_RESPONSE = ExecuteResponse(
    request_id="r-1",
    status=Status.RUNTIME_ERROR,
    pass_ratio=1 / 3,
    passed_count=1,
    test_count=3,
    tests=[
        Result(
            index=0,
            name="a",
            status=Status.PASSED,
            cpu_time_ms=1.5,
            wall_time_ms=2.5,
            peak_memory_bytes=10 << 20,
            stdout="out",
            stderr="err",
            stdout_truncated=True,
            checker=OutputChecker(kind=CheckerKind.EXACT),
        ),
        Result(index=1, name="c", status=Status.RUNTIME_ERROR, error=ERROR, exit_code=1),
        Result(
            index=2,
            status=Status.WRONG_ANSWER,
            actual="2\n",
            expected="1\n",
            stderr_truncated=True,
            exit_code=-1,
        ),
    ],
    error=ERROR,
    executed_lines=[1, 2, 5],
    executable_lines=[1, 2, 3, 5],
    coverage_collected=True,
    cpu_time_ms=4.0,
    wall_time_ms=9.0,
    peak_memory_bytes=12 << 20,
    isolation=IsolationMode.POOLED,
    limits=ResolvedLimits(
        cpu_time_limit_ms=4000.0,
        wall_time_limit_ms=13000.0,
        memory_limit_bytes=512 << 20,
        output_limit_bytes=8 << 20,
    ),
    runtime="CPython 3.11.7",
)


def _invalid(message: pb.ExecuteRequest) -> str:
    with pytest.raises(wire.InvalidRequest) as caught:
        wire.request_from_proto(message)
    return str(caught.value)


def _call_request(**call: str) -> pb.ExecuteRequest:
    message = pb.ExecuteRequest(source="x = 1")
    message.tests.add().assert_test.code = "assert True"
    test = message.tests.add()
    for name, value in call.items():
        setattr(test.call_test, name, value)
    return message


def test_request_round_trip_keeps_every_field() -> None:
    message = wire.request_to_proto(FULL_REQUEST)
    parsed = pb.ExecuteRequest.FromString(message.SerializeToString())
    assert wire.request_from_proto(parsed) == FULL_REQUEST


def test_a_zero_tolerance_is_zero_and_an_unset_one_the_default() -> None:
    exact = OutputChecker(
        kind=CheckerKind.FLOAT, float_absolute_tolerance=0.5, float_relative_tolerance=0.0
    )
    test = Case(body=CallTest(function_name="f", expected_json="1.0"), checker=exact)
    request = FULL_REQUEST.model_copy(update={"tests": [test]})
    message = pb.ExecuteRequest.FromString(wire.request_to_proto(request).SerializeToString())
    assert message.tests[0].checker.HasField("float_relative_tolerance")
    assert wire.request_from_proto(message).tests[0].checker == exact
    message.tests[0].checker.ClearField("float_absolute_tolerance")
    message.tests[0].checker.ClearField("float_relative_tolerance")
    assert wire.request_from_proto(message).tests[0].checker == OutputChecker(
        kind=CheckerKind.FLOAT
    )


def test_unset_limits_travel_as_zero_and_come_back_unset() -> None:
    request = FULL_REQUEST.model_copy(update={"limits": Limits(cpu_time_limit_ms=100.0)})
    message = wire.request_to_proto(request)
    assert message.limits.memory_limit_bytes == 0
    assert wire.request_from_proto(message).limits == Limits(cpu_time_limit_ms=100.0)


def test_proto_defaults_mean_the_contracts_defaults() -> None:
    message = pb.ExecuteRequest(source="def f(): return 1")
    test = message.tests.add()
    test.call_test.function_name = "f"
    test.call_test.expected_json = "1"  # args_json left "" = no arguments
    test.checker.kind = pb.OutputChecker.FLOAT  # tolerances left 0 = the contract's 1e-6
    request = wire.request_from_proto(message)
    assert request.language == "python"
    assert request.limits == Limits()
    body = request.tests[0].body
    assert isinstance(body, CallTest) and body.args_json == "[]"
    assert request.tests[0].checker == OutputChecker(kind=CheckerKind.FLOAT)


def test_unspecified_checker_kind_means_the_test_kinds_default() -> None:
    message = pb.ExecuteRequest(source="x")
    message.tests.add(stdio_test=pb.StdioTest(expected_stdout="1"), checker=pb.OutputChecker())
    assert wire.request_from_proto(message).tests[0].checker is None


def test_invalid_json_names_the_proto_field_path() -> None:
    text = _invalid(_call_request(function_name="f", args_json="[1,", expected_json="1"))
    assert text.startswith("tests[1].call_test.args_json is not valid JSON")


def test_args_that_are_not_an_array_are_rejected() -> None:
    text = _invalid(_call_request(function_name="f", args_json='{"a": 1}', expected_json="1"))
    assert text.startswith("tests[1].call_test.args_json must be a JSON array")


def test_missing_expected_json_is_rejected() -> None:
    text = _invalid(_call_request(function_name="f"))
    assert text.startswith("tests[1].call_test.expected_json is not valid JSON")


def test_bad_function_name_shows_the_value() -> None:
    text = _invalid(_call_request(function_name="1f", expected_json="1"))
    assert text.startswith("tests[1].call_test.function_name: String should match pattern")
    assert "(got '1f')" in text


def test_test_without_a_body_is_rejected() -> None:
    message = pb.ExecuteRequest(source="x")
    message.tests.add(name="empty")
    assert _invalid(message).startswith("tests[0] has no body")


def test_no_tests_is_a_run_with_its_stdin() -> None:
    request = wire.request_from_proto(pb.ExecuteRequest(source="x", stdin="1 2\n"))
    assert request.is_run and request.stdin == "1 2\n"
    parsed = pb.ExecuteRequest.FromString(wire.request_to_proto(request).SerializeToString())
    assert parsed.stdin == "1 2\n" and not parsed.tests


def test_stdin_with_tests_is_rejected() -> None:
    message = _call_request(function_name="f", expected_json="1")
    message.stdin = "1\n"
    assert _invalid(message).startswith("stdin is the input of a run without tests")


def test_a_run_round_trips_in_its_own_field() -> None:
    run = FULL_RESPONSE.tests[1]
    verdict = FULL_RESPONSE.model_copy(
        update={"tests": [], "test_count": 0, "passed_count": 0, "pass_ratio": 0.0, "run": run}
    )
    message = pb.ExecuteResponse.FromString(wire.response_to_proto(verdict).SerializeToString())
    assert message.HasField("run") and not message.tests
    assert wire.response_from_proto(message) == verdict
    assert not wire.response_to_proto(FULL_RESPONSE).HasField("run")


def test_out_of_range_limits_name_the_limit() -> None:
    message = _call_request(function_name="f", expected_json="1")
    message.limits.cpu_time_limit_ms = -5
    message.limits.memory_limit_bytes = 1024
    text = _invalid(message)
    assert "limits.cpu_time_limit_ms: Input should be greater than 0 (got -5.0)" in text
    assert "limits.memory_limit_bytes: Input should be greater than or equal to" in text


def test_unknown_enum_number_is_rejected() -> None:
    message = pb.ExecuteRequest(source="x")
    message.tests.add(stdio_test=pb.StdioTest(expected_stdout="1"))
    message.tests[0].checker.kind = 42  # type: ignore[assignment]  # proto3 enums are open
    assert _invalid(message) == "tests[0].checker.kind has no valid value (got 42)"


def test_oversized_source_is_rejected_without_a_path() -> None:
    message = pb.ExecuteRequest(source="x" * (1 << 20), prelude="y")
    message.tests.add().assert_test.code = "assert True"
    assert _invalid(message).startswith("source and prelude are 1048577 bytes together")


def test_many_errors_are_summarised() -> None:
    message = pb.ExecuteRequest(source="x")
    for _ in range(5):
        message.tests.add().assert_test.code = ""
    text = _invalid(message)
    assert text.count("tests[") == 3 and text.endswith("and 2 more errors")


def test_response_round_trip_keeps_every_field() -> None:
    message = wire.response_to_proto(FULL_RESPONSE)
    parsed = pb.ExecuteResponse.FromString(message.SerializeToString())
    assert wire.response_from_proto(parsed) == FULL_RESPONSE


def test_response_absent_error_and_checker_stay_absent() -> None:
    response = FULL_RESPONSE.model_copy(update={"error": None})
    message = wire.response_to_proto(response)
    assert not message.HasField("error")
    assert not message.tests[1].HasField("checker")
    assert wire.response_from_proto(message).tests[1].checker is None


def test_response_without_status_breaks_the_contract() -> None:
    message = wire.response_to_proto(FULL_RESPONSE)
    message.status = pb.Verdict.STATUS_UNSPECIFIED
    with pytest.raises(wire.InvalidResponse, match="status has no valid value"):
        wire.response_from_proto(message)


def test_languages_round_trip() -> None:
    languages = [
        Language(
            name=name,
            runtime=f"{name} 1.0",
            file_suffix=suffix,
            capabilities=Capabilities(
                assert_tests=True,
                call_tests=name == "python",
                stdio_tests=True,
                error_type=True,
                error_line=False,
                error_subtype=True,
                executed_lines=False,
                executable_lines=name == "python",
                peak_memory=True,
                compile_step=name == "cpp",
            ),
        )
        for name, suffix in (("cpp", ".cpp"), ("python", ".py"))
    ]
    message = wire.languages_to_proto(languages)
    parsed = pb.ListLanguagesResponse.FromString(message.SerializeToString())
    assert wire.languages_from_proto(parsed) == languages


def test_package_level_enum_values_carry_their_enums_prefix() -> None:
    # AIP-126: values of a package-level enum share the package's scope (C++), so they carry
    # the enum's name; IsolationMode's unprefixed values live in ExecuteResponse instead.
    for enum in pb.DESCRIPTOR.enum_types_by_name.values():
        prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in enum.name).lstrip("_")
        assert all(value.name.startswith(prefix + "_") for value in enum.values), enum.name
    nested = pb.ExecuteResponse.DESCRIPTOR.enum_types_by_name["IsolationMode"]
    assert [value.name for value in nested.values][1:] == ["STRICT", "POOLED", "NONE"]
