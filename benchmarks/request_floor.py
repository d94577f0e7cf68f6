"""The floor of a pooled request in this architecture, beside what a request costs and what the
speed targets of issue 19 allow; CPU milliseconds per request, measured side by side in one run.

A pooled request crosses a Python gRPC server and is run by a fork of a warm CPython image, so it
cannot cost less than the two together:

* **gRPC call**: a unary call that does nothing (the standard health service's ``Check``) through
  the same ``crucible sandbox serve`` process, at the same concurrency as the trivial requests:
  the server's CPU and the client's (this process);
* **image fork**: a fork and immediate ``_exit`` of the image a pooled worker forks its tests
  from (``python_harness.prepare_image`` with the worker's own command line, line probes
  preloaded; unjailed): the forking parent's CPU and the child's, with their minor faults;
* **program**: for HumanEval, the programs and their tests exec'd in one warm interpreter
  (``benchmarks/floor.py``'s ``exec`` path, start-up excluded by subtracting an empty run).

Beside them, measured in the same run: the trivial request and a HumanEval request through the
server (``sandbox_cpu_cost.measure``: server, harness parent, tests, client), a fresh
``python3 -S`` per trivial program (the trivial target's baseline: its spawning parent and the
interpreter), and the fork floor of HumanEval (``floor.py``'s warm ``fork`` lanes, start-up
excluded likewise). The targets as CPU budgets: trivial requests at 5x ``python3 -S`` may cost a
fifth of it; HumanEval at 1.5x the fork floor may cost 1.5 times it.

Writes ``benchmarks/results/request_floor.json`` and ``.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crucible.benchmarks.common import markdown_table
from crucible.benchmarks.floor import floor_interpreter, run_floor
from crucible.benchmarks.sandbox_cpu_cost import (
    all_pass,
    all_pass_unary,
    cpu_ms,
    measure,
    trivial_requests,
)
from crucible.benchmarks.sandbox_throughput import (
    TRIVIAL_SOURCE,
    TRIVIAL_TEST,
    Server,
    bare_python,
    humaneval_programs,
    humaneval_requests,
)
from crucible.kernel.progress import progress_bar
from crucible.sandbox_service.engine import python_runner as py

RESULTS = Path(__file__).with_name("results") / "request_floor.json"

# Run by the harness's interpreter with the pooled worker's arguments after the harness's path
# and the number of forks: loads the harness file by path (as it loads its siblings), prepares
# the image as a worker does, then forks children that exit at once.
_IMAGE_FORK = """
import importlib.util, json, os, resource, sys
path, count, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
spec = importlib.util.spec_from_file_location("crucible_python_harness", path)
harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)
unguarded = harness.prepare_image(args)
if unguarded:
    raise SystemExit(f"the harness's guard is not in place: {unguarded}")

def usage():
    return resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)

def forks():
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

forks()  # the warm-up: the first forks after start-up also copy what start-up left
(parent_0, child_0) = usage()
forks()
(parent_1, child_1) = usage()
cpu = lambda a, b: (b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime) * 1000.0 / count
anonymous = [line for line in open("/proc/self/status") if line.startswith("RssAnon:")]
print(json.dumps({
    "parent_cpu_ms": cpu(parent_0, parent_1),
    "child_cpu_ms": cpu(child_0, child_1),
    "parent_minor_faults": (parent_1.ru_minflt - parent_0.ru_minflt) / count,
    "child_minor_faults": (child_1.ru_minflt - child_0.ru_minflt) / count,
    "anonymous_kb": int(anonymous[0].split()[1]),
}))
"""


def image_fork(count: int) -> dict[str, float]:
    """CPU ms and minor faults per fork and exit of the pooled harness image."""
    argv = py.python_runtime().command(jailed=False, serve=True, preload_line_probes=True)
    interpreter, flags, harness, args = argv[0], argv[1:4], argv[4], argv[5:]
    output = subprocess.run(
        [interpreter, *flags, "-c", _IMAGE_FORK, harness, str(count), *args],
        capture_output=True,
        text=True,
        check=True,
        env=py.SINGLE_THREADED_ENV,
    ).stdout
    measured: dict[str, float] = json.loads(output)
    return measured


async def _health_checks(address: str, calls: int, concurrency: int) -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                response = await stub.Check(health_pb2.HealthCheckRequest())
            if response.status != health_pb2.HealthCheckResponse.SERVING:
                raise RuntimeError(f"the server is not serving: {response}")

        await asyncio.gather(*(one() for _ in range(calls)))
    return calls


def _with_children_cpu(run: Callable[[], int]) -> float:
    """CPU ms of this process and of the children it reaps during ``run()``, per what it
    returns (how many it ran)."""
    me = psutil.Process()
    before = cpu_ms(me.cpu_times(), True)
    count = run()
    return (cpu_ms(me.cpu_times(), True) - before) / count


def _bare_python(calls: int) -> int:
    """``calls`` trivial programs, each in a fresh ``python3 -S``, two at a time (the
    throughput benchmark's headline row)."""
    asyncio.run(bare_python(calls, 2))
    return calls


def _floor_cpu(programs: list[str], mode: str) -> float:
    """CPU ms per program of ``floor.py``'s path ``mode`` (``exec`` on one lane, ``fork`` on two
    lanes with warm imports), without the lanes' start-up and imports: a run of the first
    program alone is subtracted."""
    interpreter = floor_interpreter()
    lanes = 1 if mode == "exec" else 2

    def run(batch: list[str]) -> int:
        run_floor(batch, interpreter, mode, lanes)  # type: ignore[arg-type]
        return 1

    whole = _with_children_cpu(functools.partial(run, programs))
    start_up = _with_children_cpu(functools.partial(run, programs[:1]))
    return (whole - start_up) / (len(programs) - 1)


def measure_floor(
    workers: int, trivial: int, concurrency: int, forks: int, progress: bool = True
) -> dict[str, Any]:
    """Every row of the module docstring, in CPU ms per request."""
    humaneval = humaneval_requests(coverage=False)
    result: dict[str, Any] = {"workers": workers, "concurrency": concurrency}
    with progress_bar("measurements", 6, enabled=progress) as bar:
        server = Server("pooled", workers)
        try:
            process = psutil.Process(server.pid)
            health = measure(
                server=process,
                run=functools.partial(
                    asyncio.run, _health_checks(server.address, trivial, concurrency)
                ),
            )
            bar.advance()
            request = measure(
                server=process,
                run=functools.partial(
                    all_pass_unary, server.address, trivial_requests(trivial), concurrency
                ),
            )
            bar.advance()
            humaneval_request = measure(
                server=process,
                run=lambda: sum(all_pass(server.address, humaneval) for _ in range(3)),
            )
            bar.advance()
        finally:
            server.stop()
        cost = health["cpu_ms_per_request"]
        result["grpc_call"] = {"server": cost["server"], "client": cost["client"]}
        result["trivial_request"] = request["cpu_ms_per_request"]
        result["humaneval_request"] = humaneval_request["cpu_ms_per_request"]
        result["image_fork"] = image_fork(forks)
        bar.advance()
        result["bare_python"] = _with_children_cpu(functools.partial(_bare_python, trivial // 4))
        bar.advance()
        programs = humaneval_programs()
        result["humaneval_exec"] = _floor_cpu(programs, "exec")
        result["humaneval_fork_floor"] = _floor_cpu(programs, "fork")
        result["trivial_exec"] = _floor_cpu([TRIVIAL_SOURCE + TRIVIAL_TEST] * trivial, "exec")
        bar.advance()
    return {**result, **target_bounds(result)}


def target_bounds(measured: dict[str, Any]) -> dict[str, Any]:
    """The floor and the budget of each target, from the measured rows."""
    grpc_call = sum(measured["grpc_call"].values())
    fork = measured["image_fork"]["parent_cpu_ms"] + measured["image_fork"]["child_cpu_ms"]
    return {
        "trivial": {
            "floor": grpc_call + fork + measured["trivial_exec"],
            "budget": measured["bare_python"] / 5.0,
            "measured": measured["trivial_request"]["total"],
        },
        "humaneval": {
            "floor": grpc_call + fork + measured["humaneval_exec"],
            "budget": 1.5 * measured["humaneval_fork_floor"],
            "measured": measured["humaneval_request"]["total"],
        },
    }


def report(result: dict[str, Any]) -> str:
    """The run as Markdown: the floor's parts, then each target's floor, budget and cost."""
    fork = result["image_fork"]
    parts = [
        ("gRPC call that does nothing: server", result["grpc_call"]["server"]),
        ("gRPC call that does nothing: client", result["grpc_call"]["client"]),
        ("fork + exit of the pooled harness image: parent", fork["parent_cpu_ms"]),
        ("fork + exit of the pooled harness image: child", fork["child_cpu_ms"]),
        ("trivial program exec'd in a warm interpreter", result["trivial_exec"]),
        ("HumanEval program + test exec'd in a warm interpreter", result["humaneval_exec"]),
        ("fresh `python3 -S` per trivial program (spawn included)", result["bare_python"]),
        ("HumanEval fork floor (2 warm lanes, start-up excluded)", result["humaneval_fork_floor"]),
    ]
    rows = [[name, f"{value:.3f}"] for name, value in parts]
    targets = [
        [
            name,
            f"{bound['floor']:.2f}",
            f"{bound['budget']:.2f}",
            f"{bound['measured']:.2f}",
            "yes" if bound["floor"] <= bound["budget"] else "no",
        ]
        for name, bound in (
            ("trivial, >= 5x `python3 -S`", result["trivial"]),
            ("HumanEval, <= 1.5x fork floor", result["humaneval"]),
        )
    ]
    components = ["server", "harness", "tests", "client"]
    measured = [
        [name, *(f"{result[key][part]:.2f}" for part in components), f"{result[key]['total']:.2f}"]
        for name, key in (("trivial", "trivial_request"), ("HumanEval", "humaneval_request"))
    ]
    return "\n\n".join(
        [
            f"CPU ms per request, {os.cpu_count()} cores, {result['workers']} pooled workers, "
            f"unary calls {result['concurrency']} in flight (HumanEval: one batch stream); the "
            f"image has {fork['anonymous_kb'] / 1024:.1f} MiB of anonymous memory, and its "
            f"fork and exit take {fork['parent_minor_faults']:.0f} + "
            f"{fork['child_minor_faults']:.0f} minor faults.",
            markdown_table(["part of the floor", "CPU ms"], rows),
            markdown_table(
                ["target", "floor", "budget", "measured", "floor within budget"], targets
            ),
            markdown_table(["request", *components, "total"], measured),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--trivial", type=int, default=2000, help="trivial requests and calls")
    parser.add_argument("--concurrency", type=int, default=32, help="unary calls in flight")
    parser.add_argument("--forks", type=int, default=2000, help="forks of the harness image")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = measure_floor(args.workers, args.trivial, args.concurrency, args.forks)
    text = report(result)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(f"# The floor of a pooled request\n\n{text}\n")


if __name__ == "__main__":
    main()
