"""The harness-alone benchmark: it counts every test it ran and charges the children and the
parent with CPU time and minor faults; a test that does not pass stops it."""

from __future__ import annotations

import pytest

from crucible.benchmarks.harness_child_cost import cost_per_test
from crucible.benchmarks.sandbox_cpu_cost import trivial_requests
from crucible.sandbox_service.models import AssertTest, ExecuteRequest, TestCase


def test_every_test_of_the_measured_jobs_is_counted_and_charged() -> None:
    cost = cost_per_test(trivial_requests(1), jobs=60)
    assert cost["tests"] == 60
    # A fork copies pages on write in the child and, afterwards, in the parent.
    assert cost["child_minor_faults"] > 10
    assert cost["parent_minor_faults"] > 10
    assert cost["child_cpu_ms"] >= 0 and cost["parent_cpu_ms"] >= 0


def test_a_failing_test_stops_the_measurement() -> None:
    failing = ExecuteRequest(
        source="x = 1\n", tests=[TestCase(body=AssertTest(code="assert x == 2"))]
    )
    with pytest.raises(RuntimeError, match="did not pass"):
        cost_per_test([failing], jobs=1)
