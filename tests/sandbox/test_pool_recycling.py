"""Recycling a pooled worker that served its quota of jobs, on real jailed workers: its
replacement starts while it keeps serving, so no job ever finds the pool a worker short, and
workers started together get different quotas (so they are not recycled together)."""

from __future__ import annotations

import asyncio

import pytest
from real_engine import LocalEngine, assert_test, request

from crucible.sandbox_service.engine import pool as pool_module
from crucible.sandbox_service.models import Status

ADD = request("def add(a, b):\n    return a + b\n", assert_test("assert add(1, 2) == 3"))


def test_a_worker_at_its_quota_serves_until_its_replacement_is_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "RECYCLE_AFTER", 4)
    pooled = LocalEngine("pooled", workers=1)
    pool = pooled.engine._pool
    assert pool is not None
    # Every job of this engine takes its worker through acquire_nowait; None there means the
    # job had to wait for a worker to start.
    found: list[bool] = []
    take = pool.acquire_nowait

    def acquire_nowait() -> pool_module.Worker | None:
        worker = take()
        found.append(worker is not None)
        return worker

    monkeypatch.setattr(pool, "acquire_nowait", acquire_nowait)
    pids: list[int] = []
    try:
        for _ in range(40):
            verdict = pooled.run(ADD)
            assert verdict.status is Status.PASSED, verdict.error
            pids += [worker.harness.pid for worker in pool._all if not worker.retiring]
            # Lets a replacement that is starting progress between jobs, as a serving engine's
            # loop would.
            pooled._loop.run_until_complete(asyncio.sleep(0.02))
        restarts = pooled.engine.stats().worker_restarts
    finally:
        pooled.close()
    assert restarts["recycled"] >= 2, restarts
    assert len(set(pids)) >= 3, "the worker was not replaced"
    assert all(found), f"{found.count(False)} of {len(found)} jobs waited for a worker to start"


def test_workers_started_together_get_different_quotas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "RECYCLE_AFTER", 2000)
    pooled = LocalEngine("pooled", workers=4)
    pool = pooled.engine._pool
    assert pool is not None
    try:
        quotas = [worker.quota for worker in pool._all]
    finally:
        pooled.close()
    assert all(2000 <= quota <= 3000 for quota in quotas), quotas
    # Four draws from 1,001 values: all equal with probability 1e-9.
    assert len(set(quotas)) > 1, quotas
