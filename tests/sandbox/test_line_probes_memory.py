"""A pooled worker that serves coverage jobs keeps its size: the instrumented code of each job
and the slipcover object its probes report to are freed when the job ends (python_harness
``_drop_line_probes``). Before, they stayed (a reference cycle through slipcover's C probes),
and every fork of the worker grew dearer."""

from __future__ import annotations

from pathlib import Path

from real_engine import LocalEngine, assert_test, request

from crucible.sandbox_service.engine.pool import _jailed_pid
from crucible.sandbox_service.models import Status

# Ten functions with a branch each: ten instrumented code objects per job.
SOURCE = "".join(
    f"def f{index}(x):\n    if x > {index}:\n        return x - {index}\n    return x\n"
    for index in range(10)
)
JOB = request(SOURCE, assert_test("assert f3(5) == 2"))


def _resident_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def test_a_worker_serving_coverage_jobs_does_not_grow() -> None:
    pooled = LocalEngine("pooled", workers=1)
    pool = pooled.engine._pool
    assert pool is not None
    covered = JOB.model_copy(update={"collect_coverage": True})
    try:
        (worker,) = pool._all
        harness = _jailed_pid(worker.harness.pid)
        assert harness is not None

        def serve(jobs: int) -> None:
            for _ in range(jobs):
                verdict = pooled.run(covered)
                assert verdict.status is Status.PASSED, verdict.error
                assert verdict.coverage_collected and verdict.executed_lines

        serve(40)
        before = _resident_kb(harness)
        serve(300)
        grown = _resident_kb(harness) - before
        assert worker in pool._all  # the same worker served every job
    finally:
        pooled.close()
    # Kept, each job's code and probes came to some 16 KB here: 5 MB over these jobs.
    assert grown < 1024, f"the worker grew by {grown} kB over 300 coverage jobs"
