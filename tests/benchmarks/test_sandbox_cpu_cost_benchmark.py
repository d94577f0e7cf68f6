"""The CPU-cost benchmark against a real server: it finds every component's processes (the
server, its jailed harnesses and the tests they fork, the client) and its totals add up."""

from __future__ import annotations

import pytest

from crucible.benchmarks.sandbox_cpu_cost import cpu_cost

COMPONENTS = {"server", "nsjail", "harness", "tests", "client", "total"}


@pytest.mark.slow
@pytest.mark.train  # HumanEval's programs are one of the runs
def test_every_component_of_a_run_is_charged() -> None:
    outcome = cpu_cost(workers=2, trivial=100, rounds=1)
    for run, count in (("trivial", 100), ("trivial_unary", 100), ("humaneval", 164)):
        assert outcome[run]["requests"] == count
        per = outcome[run]["cpu_ms_per_request"]
        assert set(per) == COMPONENTS
        # The server, the harnesses and the tests each do work for every request.
        assert min(per["server"], per["harness"], per["tests"], per["client"]) > 0
        parts = sum(value for name, value in per.items() if name != "total")
        assert per["total"] == pytest.approx(parts)
    for floor in ("floor_trivial", "floor_humaneval"):
        assert set(outcome[floor]) == {"exec", "fork_warm", "fork_cold"}
        assert min(outcome[floor].values()) > 0
