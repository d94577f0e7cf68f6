"""The artifact cache: n tests of one program compile once, concurrent identical requests
compile once, and neither a program nor a build can change what the cache serves."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
from pathlib import Path

from crucible.sandbox_service.engine.languages import NativeRunner
from crucible.sandbox_service.engine.languages.artifacts import ArtifactCache, seal
from crucible.sandbox_service.engine.languages.base import RUNTIME_DIR, Paths
from crucible.sandbox_service.engine.languages.c_family import C
from crucible.sandbox_service.models import (
    ExecuteRequest,
    ExecuteResponse,
    ResolvedLimits,
    Status,
    StdioTest,
)
from crucible.sandbox_service.models import TestCase as Case

LIMITS = ResolvedLimits(
    cpu_time_limit_ms=2000.0,
    wall_time_limit_ms=7000.0,
    memory_limit_bytes=256 << 20,
    output_limit_bytes=1 << 20,
)
ECHO = '#include <stdio.h>\nint main(void) { int x; scanf("%d", &x); printf("%d\\n", x); }\n'
POISON = """#include <stdio.h>
#include <sys/stat.h>

int main(void) {
    FILE *f = fopen("/build/prog", "r+b");
    if (f) { fputs("x", f); fclose(f); puts("rewrote the binary"); return 0; }
    if (chmod("/build/prog", 0777) == 0) { puts("chmod"); return 0; }
    if (mkdir("/build/extra", 0777) == 0) { puts("mkdir"); return 0; }
    puts("intact");
    return 0;
}
"""


def request(source: str, inputs: list[str]) -> ExecuteRequest:
    return ExecuteRequest(
        language="c",
        source=source,
        tests=[Case(body=StdioTest(stdin=i, expected_stdout=i)) for i in inputs],
    )


def run(runner: NativeRunner, *requests: ExecuteRequest) -> list[ExecuteResponse]:
    async def main() -> list[ExecuteResponse]:
        return list(await asyncio.gather(*(runner.execute(r, LIMITS) for r in requests)))

    return asyncio.run(main())


def digest(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        str(path.relative_to(directory)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mode,
        )
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_tests_of_one_program_compile_once(tmp_path: Path) -> None:
    runner = NativeRunner("strict", "crucible", ArtifactCache(tmp_path / "cache"))
    (first,) = run(runner, request(ECHO, ["1\n", "2\n", "3\n"]))
    assert first.status is Status.PASSED and runner.compiles == 1
    (again,) = run(runner, request(ECHO, ["4\n"]))
    assert again.status is Status.PASSED and runner.compiles == 1
    other = ECHO.replace("%d\\n", "%d \\n")
    twins = run(runner, request(other, ["5\n"]), request(other, ["6\n"]))
    assert [verdict.status for verdict in twins] == [Status.PASSED, Status.PASSED]
    assert runner.compiles == 2
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_a_program_cannot_change_its_artifact(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    runner = NativeRunner("strict", "crucible", cache)
    (first,) = run(runner, request(POISON, ["intact\n"]))
    assert first.status is Status.PASSED, first.tests[0]
    (artifact,) = list((tmp_path / "cache").iterdir())
    before = digest(artifact)
    assert all(mode & 0o222 == 0 for _, mode in before.values())
    (second,) = run(runner, request(POISON, ["intact\n"]))
    assert second.status is Status.PASSED and runner.compiles == 1
    assert digest(artifact) == before


def test_seal_keeps_only_read_only_files_and_directories(tmp_path: Path) -> None:
    build = tmp_path / "build"
    (build / "sub").mkdir(parents=True)
    (build / "data").write_text("x")
    (build / "data").chmod(0o666)
    (build / "prog").write_text("#!/bin/sh\n")
    (build / "prog").chmod(0o777 | stat.S_ISUID)
    (build / "sub" / "link").symlink_to("/etc/passwd")
    os.mkfifo(build / "fifo")
    seal(build)
    assert sorted(path.name for path in build.rglob("*")) == ["data", "prog", "sub"]
    assert stat.S_IMODE((build / "data").stat().st_mode) == 0o444
    assert stat.S_IMODE((build / "prog").stat().st_mode) == 0o555
    assert stat.S_IMODE((build / "sub").stat().st_mode) == 0o555
    assert stat.S_IMODE(build.stat().st_mode) == 0o555
    assert Path("/etc/passwd").exists()


def test_cache_keeps_the_newest_entries(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache", max_entries=2)
    for index, key in enumerate(["a", "b", "c"]):
        scratch = cache.scratch(jailed=False)
        (scratch / "file").write_text(key)
        cache.publish(key, scratch)
        os.utime(tmp_path / "cache" / key, (index, index))
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == ["b", "c"]
    assert cache.lookup("a") is None and cache.lookup("c") is not None


def test_a_changed_runtime_file_changes_the_cache_key(tmp_path: Path) -> None:
    # A persistent cache outlives upgrades: an artifact linked against an old crucible_rt.c
    # must not be served after the file changes.
    before, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(RUNTIME_DIR, before)
    shutil.copytree(RUNTIME_DIR, after)
    runtime_file = after / "crucible_rt.c"
    runtime_file.write_text(runtime_file.read_text() + "/* changed */\n")
    request = ExecuteRequest(
        language="c", source=ECHO, tests=[Case(body=StdioTest(stdin="1\n", expected_stdout="1\n"))]
    )
    plan = C.plan(request, Paths.jailed(), coverage=False)
    keys = [plan.cache_key("c", "gcc 12", runtime) for runtime in (RUNTIME_DIR, before, after)]
    assert keys[0] == keys[1] != keys[2]
