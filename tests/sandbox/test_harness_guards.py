"""The harness's own guards: the seccomp filter every test runs under still lets honest programs
manage their own processes (the hostile corpus shows what it refuses), kills calls of a foreign
ABI by itself, and a harness that could not install it is never used; the tampering check that
backs it up restores the harness's limits or reports what it cannot restore."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest
from real_engine import LocalEngine, assert_test, request

from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.engine.harness_process import HarnessProcess, HarnessRefused
from crucible.sandbox_service.engine.pool import WorkerPool
from crucible.sandbox_service.engine.python_runner import HARNESS_DIR, python_runtime
from crucible.sandbox_service.models import Status


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalEngine]:
    engine = LocalEngine("strict", workers=1)
    yield engine
    engine.close()


def test_honest_programs_keep_managing_their_own_processes(sandbox: LocalEngine) -> None:
    source = (
        "import os, resource, subprocess, sys, threading\n"
        "def work():\n"
        "    out = subprocess.run([sys.executable, '-c', 'print(6 * 7)'],\n"
        "                         capture_output=True, text=True).stdout\n"
        "    resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))\n"
        "    os.nice(1)\n"
        "    os.sched_setaffinity(0, os.sched_getaffinity(0))\n"
        "    results = []\n"
        "    thread = threading.Thread(target=results.append, args=(1,))\n"
        "    thread.start()\n"
        "    thread.join()\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(7)\n"
        "    return out.strip(), results, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
    )
    verdict = sandbox.run(request(source, assert_test("assert work() == ('42', [1], 7)")))
    assert verdict.status is Status.PASSED, verdict.error


TAMPERING = """
import importlib.util, os, resource, sys
spec = importlib.util.spec_from_file_location("harness", sys.argv[1])
harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)
if os.getuid() == 0:
    os.setgid(65534)
    os.setuid(65534)  # unprivileged, as in the jail: lowered hard limits stay lowered
harness._BASELINE["state"] = harness._own_state()
assert harness._tampering() == ""
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (soft // 2, hard))
assert harness._tampering() == ""  # a soft limit is restored
assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))  # hard too: no way back
print(harness._tampering())
"""


def test_tampering_check_restores_soft_limits_and_reports_hard_ones() -> None:
    harness = HARNESS_DIR / "python_harness.py"
    done = subprocess.run(
        [python_runtime().interpreter, "-I", "-S", "-c", TAMPERING, str(harness)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "resource limits"


def test_a_worker_whose_job_asked_for_retirement_is_replaced_not_reused() -> None:
    """The seccomp filter refuses every tampering call a program can make (the hostile corpus),
    so a ``"retire": true`` done record cannot be provoked from a program: the flag that record
    sets is set here by hand on a real pooled worker."""
    pooled = LocalEngine("pooled", workers=1)
    pool = pooled.engine._pool
    assert pool is not None

    async def cycle_worker() -> tuple[int, int]:
        worker = await pool.acquire()
        first = worker.harness.pid
        worker.harness.retire_requested = True
        pool.release(worker)
        replacement = await pool.acquire()
        pool.release(replacement)
        return first, replacement.harness.pid

    try:
        first, second = pooled._loop.run_until_complete(cycle_worker())
        honest = pooled.run(
            request("def add(a, b):\n    return a + b\n", assert_test("assert add(1, 2) == 3"))
        )
        restarts = pooled.engine.stats().worker_restarts
    finally:
        pooled.close()
    assert first != second
    assert restarts["tampered"] == 1, restarts
    assert honest.status is Status.PASSED, honest.error


def test_a_harness_without_its_seccomp_guard_is_refused_by_pool_and_strict_path() -> None:
    """``setarch i686`` makes the harness see a machine it has no filter for (a real failure to
    install the guard, not a switch): the pool refuses the worker, the strict path the jail and
    the other languages' path their supervisor, each naming the reason the harness reported in
    its ``ready`` record."""
    engine = Engine(EngineConfig(workers=1, isolation="pooled"))
    argv = ["setarch", "i686", *engine._pooled_argv()]
    runtime = python_runtime()
    native = ["setarch", "i686", runtime.interpreter, "-I", "-S"]
    native.append(runtime.harness("native_harness", jailed=False))
    pool = WorkerPool(1, lambda: argv, engine.config.cgroup_parent)
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(HarnessRefused) as pooled:
            loop.run_until_complete(pool.start())
        assert pool.alive == 0
        with pytest.raises(HarnessRefused) as strict:
            loop.run_until_complete(HarnessProcess.start(argv))
        with pytest.raises(HarnessRefused) as supervisor:
            loop.run_until_complete(HarnessProcess.start(native))
        loop.run_until_complete(pool.close())
    finally:
        loop.close()
    reason = "its seccomp guard is not in place: no seccomp filter is known for machine 'i686'"
    assert reason in str(pooled.value)
    assert reason in str(strict.value)
    assert reason in str(supervisor.value)


# A system call of the i386 ABI (``int 0x80``) from a 64-bit process: getpid, harmless if it
# went through. Code and stack stay below 4 GiB (MAP_32BIT) as that ABI needs.
I386_GETPID = """
import ctypes, mmap, struct
page = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40,
                 prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(b"\\x53\\xb8" + struct.pack("<I", 20) + b"\\xcd\\x80\\x5b\\xc3")
call = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
PID = call()
def add(a, b):
    return a + b
"""


def test_the_harness_filter_alone_kills_a_foreign_architecture_call() -> None:
    """Without a jail (``--insecure-no-sandbox``) nsjail's filter is absent: the harness's own
    filter must kill an i386 call (it would otherwise return a pid)."""
    unjailed = LocalEngine("none", workers=1)
    try:
        verdict = unjailed.run(request(I386_GETPID, assert_test("assert add(1, 2) == 3")))
    finally:
        unjailed.close()
    assert verdict.status is Status.RUNTIME_ERROR, verdict
    error = verdict.tests[0].error
    assert error is not None
    assert (error.type, error.message) == ("SIGSYS", "killed by SIGSYS")
