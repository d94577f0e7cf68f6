"""The hostile corpus against the real engine (real nsjail), in both isolation modes.

Every program of ``programs/`` must get the status its header expects for the reason it states
(``HostileProgram.check``), and leave the host as it found it: no file of its making outside
the jail's /tmp, no process of it left running, the harness's source untouched, no cgroup of a
strict jail left behind. Then, in either mode, the same engine must pass a benign program that
finds /tmp holding nothing but its own source (in pooled mode: the same warm worker or its
replacement).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hostile_corpus import (
    MARKER,
    HostileProgram,
    harness_digests,
    jail_groups,
    jailed_leftovers,
    load_corpus,
    marker_files,
    remove_cgroup_parent,
    wait_until_empty,
)

from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.models import (
    AssertTest,
    ExecuteRequest,
    ExecuteResponse,
    Status,
    TestCase,
)

pytestmark = pytest.mark.timeout(900)

CORPUS = load_corpus()
BENIGN = ExecuteRequest(
    request_id="benign",
    source=(
        "import os\n"
        "LEFT = sorted(os.listdir('/tmp'))\n"
        "MODE = os.stat('/tmp').st_mode & 0o7777\n"
        "def add(a, b):\n"
        "    return a + b\n"
    ),
    tests=[
        TestCase(
            body=AssertTest(
                code="assert LEFT == ['solution.py'], LEFT\n"
                "assert MODE == 0o1777, oct(MODE)\n"
                "assert add(1, 2) == 3\n"
            )
        )
    ],
)


@dataclass
class Sandbox:
    mode: str
    engine: Engine
    loop: asyncio.AbstractEventLoop
    cgroup_parent: str

    def run(self, request: ExecuteRequest) -> ExecuteResponse:
        return self.loop.run_until_complete(asyncio.wait_for(self.engine.execute(request), 120))

    def jail_groups(self) -> list[str]:
        return jail_groups(self.cgroup_parent)


@pytest.fixture(scope="module", params=["strict", "pooled"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    mode = request.param
    parent = f"crucible/hostile-{os.getpid()}-{mode}"
    loop = asyncio.new_event_loop()
    engine = Engine(EngineConfig(workers=1, isolation=mode, cgroup_parent=parent))
    loop.run_until_complete(engine.start())
    hosted = Sandbox(mode, engine, loop, parent)
    try:
        yield hosted
    finally:
        loop.run_until_complete(engine.close())
        loop.close()
    remove_cgroup_parent(parent)


def test_the_corpus_is_large_and_each_program_says_what_it_attacks() -> None:
    assert len(CORPUS) >= 60
    attacks = [program.attack for program in CORPUS]
    assert len(set(attacks)) == len(attacks)
    assert all(program.tests for program in CORPUS)
    # pytest must never import a program on the host (conftest.py also tells it not to).
    assert not [p.name for p in CORPUS if p.name.startswith("test") or p.name.endswith("test")]
    assert not marker_files(), f"files named {MARKER} exist before any program ran"


@pytest.mark.parametrize("program", CORPUS, ids=[program.name for program in CORPUS])
def test_hostile_program_is_contained(
    sandbox: Sandbox, program: HostileProgram, harness_digest: list[str]
) -> None:
    verdict = sandbox.run(program.request())
    program.check(verdict)
    assert not marker_files(), program.attack
    wait_until_empty(jailed_leftovers, "processes of the program outlived it")
    assert harness_digests() == harness_digest
    if sandbox.mode == "strict":
        wait_until_empty(sandbox.jail_groups, "cgroups of the program's jail were left behind")
    benign = sandbox.run(BENIGN)
    assert benign.status is Status.PASSED, (benign.error, benign.tests[0].stderr[-2000:])
