"""The hostile native corpus against the real compile and run jails (real nsjail, real toolchains).

Most programs of ``native_programs/`` attack the compile step of their language: host files read
at compile time, compile-time bombs, compiler output floods, code the compiler would run; those
named ``*_run_*`` attack the run jail's supervisor from the compiled program. Each must get the
status its header expects for the reason it states, and leave the host as the Python corpus
requires: no file named ``crucible-hostile*`` in the host directories an escape would write to,
no process of it left running, the harnesses' files untouched, no cgroup of a jail left behind.
The bombs run under the smaller compile limits their header names (the server's own are 30 s of
CPU and 1.5 GiB), so that each is stopped in seconds; after the corpus each language still
compiles and passes a benign program in the same runner.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_corpus import (
    DEFAULT_LIMITS,
    HostileProgram,
    harness_digests,
    jail_groups,
    jailed_leftovers,
    load_native_corpus,
    marker_files,
    remove_cgroup_parent,
    wait_until_empty,
)

from crucible.sandbox_service.engine.languages.artifacts import ArtifactCache
from crucible.sandbox_service.engine.languages.runner import CompileLimits, NativeRunner
from crucible.sandbox_service.engine.languages.samples import ADD_PROGRAMS
from crucible.sandbox_service.models import (
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    ResolvedLimits,
    Status,
    StdioTest,
    TestCase,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CORPUS = load_native_corpus()
LIMITS = ResolvedLimits.resolve(Limits(**DEFAULT_LIMITS), ResolvedLimits(**DEFAULT_LIMITS))


class CompileSandbox:
    """Native runners sharing one artifact cache and one cgroup parent, one per compile limits."""

    def __init__(self, cache: Path, cgroup_parent: str) -> None:
        self.cache = ArtifactCache(cache)
        self.cgroup_parent = cgroup_parent
        self.loop = asyncio.new_event_loop()

    def run(self, request: ExecuteRequest, **compile_limits: float) -> ExecuteResponse:
        limits = CompileLimits(**compile_limits)
        runner = NativeRunner("strict", self.cgroup_parent, self.cache, limits)
        # make setup installs every toolchain: a missing one is a broken setup, not a skip
        assert runner.runs(request.language), f"the {request.language} toolchain is missing"
        verdict = runner.execute(request, LIMITS)
        return self.loop.run_until_complete(asyncio.wait_for(verdict, 180))

    def jail_groups(self) -> list[str]:
        return jail_groups(self.cgroup_parent)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CompileSandbox]:
    hosted = CompileSandbox(
        tmp_path_factory.mktemp("artifacts"), f"crucible/hostile-native-{os.getpid()}"
    )
    try:
        yield hosted
    finally:
        hosted.loop.close()
    remove_cgroup_parent(hosted.cgroup_parent)


def test_the_native_corpus_covers_every_language() -> None:
    assert len(CORPUS) >= 30
    languages = {program.language for program in CORPUS}
    assert languages == {"c", "cpp", "rust", "go", "java", "javascript"}
    attacks = [program.attack for program in CORPUS]
    assert len(set(attacks)) == len(attacks)


@pytest.mark.parametrize("program", CORPUS, ids=[program.name for program in CORPUS])
def test_hostile_native_program_is_contained(
    sandbox: CompileSandbox, program: HostileProgram, harness_digest: list[str]
) -> None:
    verdict = sandbox.run(program.request(), **program.compile_limits)
    program.check(verdict)
    assert not marker_files(), program.attack
    wait_until_empty(jailed_leftovers, "processes of the program outlived it")
    assert harness_digests() == harness_digest
    wait_until_empty(sandbox.jail_groups, "cgroups of the program's jails were left behind")


@pytest.mark.parametrize("language", sorted(ADD_PROGRAMS))
def test_each_language_still_compiles_and_passes_after_the_corpus(
    sandbox: CompileSandbox, language: str
) -> None:
    benign = ExecuteRequest(
        language=language,
        source=ADD_PROGRAMS[language],
        tests=[TestCase(body=StdioTest(stdin="2 3\n", expected_stdout="5\n"))],
    )
    verdict = sandbox.run(benign)
    assert verdict.status is Status.PASSED, verdict.error
