"""The physical floor of running Python programs, for the sandbox benchmarks to be measured
against: the same programs with no sandbox, no server and no protocol.

* ``exec``: one interpreter execs every program in turn (a fresh globals dict each), one core.
* ``fork``: ``lanes`` interpreters pull program numbers from one queue (a pipe); for each, the
  lane compiles the program, forks, and the child execs it, as the pooled sandbox's harness
  compiles a candidate and forks a child per test. With ``warm`` imports each lane imports,
  before the clock starts, every module the programs import (as a warm worker may preload
  them); cold, each child imports its own.

Every lane is a fresh ``python -I -S`` (the interpreter the sandbox's harness runs on), so
nothing of the benchmark process (gRPC, pydantic) is in the forked image. A program passes when
it compiles and runs to the end without an exception.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import tempfile
import time
from typing import Literal

from crucible.sandbox_service.engine.python_runner import python_runtime

_LANE = """
import json, os, sys, time
programs = json.load(open(sys.argv[1]))
for name in json.loads(sys.argv[4]):
    try:
        __import__(name)
    except ImportError:
        pass
queue, mode = int(sys.argv[2]), sys.argv[3]

def run(code):
    try:
        exec(code, {"__name__": "__main__"})
    except BaseException:
        return False
    return True

done = []
print("ready", flush=True)
while len(item := os.read(queue, 2)) == 2:
    index = int.from_bytes(item, "big")
    try:
        code = compile(programs[index], f"<program {index}>", "exec")
    except (SyntaxError, ValueError):
        code = None
    if code is None:
        passed = False
    elif mode == "exec":
        passed = run(code)
    else:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if run(code) else 1)
        passed = os.waitpid(pid, 0)[1] == 0
    done.append([time.monotonic(), passed])
print(json.dumps(done), flush=True)
"""


def imported_modules(programs: list[str]) -> list[str]:
    """The top-level modules the programs' import statements name, sorted (a program that does
    not parse imports nothing)."""
    names: set[str] = set()
    for program in programs:
        try:
            tree = ast.parse(program)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return sorted(names)


def run_floor(
    programs: list[str],
    interpreter: str,
    mode: Literal["exec", "fork"],
    lanes: int = 1,
    warm: bool = True,
) -> dict[str, float]:
    """Run ``programs`` on the floor path and summarise it like the other benchmark rows: runs,
    runs/s, p50/p99 latency from the start of the run to each program's end, and passes."""
    if len(programs) >= 1 << 16:
        raise ValueError(f"at most 65535 programs per floor run, got {len(programs)}")
    if mode == "exec" and lanes != 1:
        raise ValueError("the in-process floor runs on one lane")
    modules = json.dumps(imported_modules(programs) if warm else [])
    with tempfile.NamedTemporaryFile("w", suffix=".json") as listing:
        json.dump(programs, listing)
        listing.flush()
        read_end, write_end = os.pipe()
        try:
            workers = [
                subprocess.Popen(
                    [
                        interpreter,
                        "-I",
                        "-S",
                        "-c",
                        _LANE,
                        listing.name,
                        str(read_end),
                        mode,
                        modules,
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                    pass_fds=(read_end,),
                )
                for _ in range(lanes)
            ]
            os.close(read_end)
            for worker in workers:
                assert worker.stdout is not None
                if worker.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"a floor lane did not start (exit {worker.wait()})")
            started = time.monotonic()
            os.write(write_end, b"".join(i.to_bytes(2, "big") for i in range(len(programs))))
        finally:
            os.close(write_end)
        finished = [entry for worker in workers for entry in _lane_result(worker)]
    ends = sorted(at - started for at, _ in finished)
    elapsed = ends[-1]
    return {
        "runs": len(ends),
        "runs_per_s": len(ends) / elapsed,
        "p50_ms": 1000 * ends[len(ends) // 2],
        "p99_ms": 1000 * ends[min(len(ends) - 1, int(len(ends) * 0.99))],
        "passed": sum(1 for _, passed in finished if passed),
    }


def _lane_result(worker: subprocess.Popen[str]) -> list[tuple[float, bool]]:
    output, _ = worker.communicate()
    if worker.returncode != 0:
        raise RuntimeError(f"a floor lane failed with exit code {worker.returncode}")
    return [(float(at), bool(passed)) for at, passed in json.loads(output)]


def floor_interpreter() -> str:
    """The interpreter the sandbox's Python harness runs on (the base interpreter)."""
    return python_runtime().interpreter
