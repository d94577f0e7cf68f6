"""Pooled workers load Python's line probes (slipcover) at start by default, and with
``preload_line_probes=False`` only for their first job that collects coverage, which they then
keep. A program sees its worker's modules (the test child is forked from it), so it can tell:
the harness keeps slipcover's probe module ``slipcover.slipcover`` (not the package, nor the
``threading``, ``pathlib`` and report modules slipcover would import:
python_harness._load_slipcover). They also preload a few standard modules for the programs'
sake (python_harness.PRELOADED)."""

from __future__ import annotations

from real_engine import LocalEngine, call_test, request

from crucible.sandbox_service.models import Status

PROBE = "import sys\n\ndef probes_loaded():\n    return 'slipcover.slipcover' in sys.modules\n"


def _probes_loaded(engine: LocalEngine, coverage: bool = False) -> bool:
    verdict = engine.run(
        request(PROBE, call_test("probes_loaded", [], True), collect_coverage=coverage)
    )
    assert verdict.status in {Status.PASSED, Status.WRONG_ANSWER}, verdict
    return verdict.status is Status.PASSED


def test_a_worker_preloads_the_probes_by_default() -> None:
    engine = LocalEngine("pooled", workers=1)
    try:
        assert _probes_loaded(engine)
    finally:
        engine.close()


def test_the_preload_brings_no_module_with_at_fork_hooks() -> None:
    """threading and random run Python in every forked test (python_harness._load_slipcover):
    a default worker's image must not hold them, and a program that imports them gets them."""
    source = (
        "import sys\n"
        "PRELOADED = sorted({'threading', 'random'} & set(sys.modules))\n"
        "import random, threading\n"
        "threading.Thread(target=random.random).start()\n"
        "def preloaded():\n"
        "    return PRELOADED\n"
    )
    engine = LocalEngine("pooled", workers=1)
    try:
        verdict = engine.run(request(source, call_test("preloaded", [], [])))
        assert verdict.status is Status.PASSED, verdict
    finally:
        engine.close()


def test_a_worker_preloads_the_standard_modules_programs_often_import() -> None:
    """python_harness.PRELOADED: a forked test finds them loaded, and random (whose at-fork hook
    would run in every test) still is not."""
    source = (
        "import sys\n"
        "FOUND = sorted({'bisect', 'copy', 'heapq', 'string', '_random', '_sha512', 'random'}\n"
        "               & set(sys.modules))\n"
        "def found():\n"
        "    return FOUND\n"
    )
    expected = ["_random", "_sha512", "bisect", "copy", "heapq", "string"]
    engine = LocalEngine("pooled", workers=1)
    try:
        verdict = engine.run(request(source, call_test("found", [], expected)))
        assert verdict.status is Status.PASSED, verdict
    finally:
        engine.close()


def test_a_program_gets_the_real_modules_the_preload_stood_in_for() -> None:
    """While slipcover's probe module loads, stand-ins take the place of threading, pathlib
    and its report writers (python_harness._load_slipcover); none of them may stay."""
    source = (
        "import pathlib, threading\n"
        "def real():\n"
        "    return [pathlib.Path('/tmp/x').name, threading.Thread.__name__]\n"
    )
    engine = LocalEngine("pooled", workers=1)
    try:
        verdict = engine.run(request(source, call_test("real", [], ["x", "Thread"])))
        assert verdict.status is Status.PASSED, verdict
    finally:
        engine.close()


def test_without_the_preload_a_worker_loads_them_for_its_first_coverage_job() -> None:
    engine = LocalEngine("pooled", workers=1, preload_line_probes=False)
    try:
        assert not _probes_loaded(engine)
        assert not _probes_loaded(engine)  # a job without coverage does not load them
        covered = engine.run(
            request(
                PROBE + "probes_loaded()\n",
                call_test("probes_loaded", [], True),
                collect_coverage=True,
            )
        )
        assert covered.status is Status.PASSED
        assert covered.executed_lines == [1, 3, 4, 5]
        assert _probes_loaded(engine)  # kept for the worker's later jobs
    finally:
        engine.close()
