"""Task: how prompt, prefix and completion become the program and the sandbox request."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crucible.evaluation.tasks import Example, Task
from crucible.sandbox_service.models import AssertTest, Limits
from crucible.sandbox_service.models import TestCase as Case

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = [Case(name="t0", body=AssertTest(code="assert add(1, 2) == 3\n"))]


def make(**overrides: Any) -> Task:
    fields: dict[str, Any] = {
        "task_id": "t/1",
        "source": "unit",
        "split": "train",
        "prompt": PROMPT,
        "layout": "prompt_plus_completion",
        "entry_point": "add",
        "canonical_solution": PROMPT + "    return a + b\n",
        "tests": TESTS,
    }
    return Task(**(fields | overrides))


def test_continuation_task_runs_prompt_plus_completion() -> None:
    task = make()
    request = task.to_request("    return a + b\n", request_id="r1")
    assert request.prelude == PROMPT
    assert request.source == "    return a + b\n"
    assert request.tests == TESTS
    assert request.request_id == "r1"
    assert task.program("    return a + b\n") == PROMPT + "    return a + b\n"


def test_whole_program_task_runs_the_completion_alone() -> None:
    task = make(layout="completion_only", canonical_solution="def add(a, b):\n    return a+b\n")
    request = task.to_request("def add(a, b):\n    return a + b\n")
    assert request.prelude == ""
    assert request.source == "def add(a, b):\n    return a + b\n"


def test_prefix_goes_into_the_prelude_after_the_prompt() -> None:
    task = make()
    request = task.to_request("b\n", prefix="    return a + \\\n")
    assert request.prelude == PROMPT + "    return a + \\\n"
    assert task.program("b\n", prefix="    return a + \\\n").endswith("return a + \\\nb\n")


def test_prefix_must_end_on_a_line_boundary() -> None:
    with pytest.raises(ValueError, match="prefix must be empty or end with a newline"):
        make().to_request("b\n", prefix="    return a +")


def test_request_options_are_passed_through() -> None:
    limits = Limits(cpu_time_limit_ms=500)
    request = make().to_request(
        "x", limits=limits, collect_coverage=True, stop_on_first_failure=True
    )
    assert request.limits == limits
    assert request.collect_coverage and request.stop_on_first_failure


def test_canonical_completion_strips_the_prompt_only_for_continuations() -> None:
    assert make().canonical_completion == "    return a + b\n"
    whole = make(layout="completion_only", canonical_solution="def add(a, b): return a+b\n")
    assert whole.canonical_completion == "def add(a, b): return a+b\n"
    assert make(canonical_solution=None).canonical_completion is None


def test_continuation_prompt_must_end_with_newline() -> None:
    with pytest.raises(ValidationError, match="must end with a newline"):
        make(prompt=PROMPT.rstrip("\n"), canonical_solution=None)


def test_canonical_solution_must_extend_the_prompt() -> None:
    with pytest.raises(ValidationError, match="must start with the prompt"):
        make(canonical_solution="def add(a, b):\n    return a + b\n")


def test_examples_must_describe_every_test() -> None:
    example = Example(args=[1, 2], expected=3)
    assert make(examples=[example]).examples == [example]
    with pytest.raises(ValidationError, match="2 examples for 1 tests"):
        make(examples=[example, example])
    with pytest.raises(ValidationError, match="examples need an entry_point"):
        make(examples=[example], entry_point=None)


def test_tests_are_required() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        make(tests=[])


def test_scope_lines_are_checked() -> None:
    assert make(scope=[("If", 2, 4)]).scope == [("If", 2, 4)]
    with pytest.raises(ValidationError, match=r"scope entry 'If' has lines 5\.\.4"):
        make(scope=[("If", 5, 4)])


def test_task_round_trips_through_json() -> None:
    task = make(examples=[Example(args=[1, 2], expected=3)], scope=[("For", 1, 2)])
    assert Task.model_validate_json(task.model_dump_json()) == task
