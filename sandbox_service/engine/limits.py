"""Which limit a finished test exceeded, decided from what its supervisor measured; one rule for
every language.

Precedence: output, then the wall-clock backstop, then memory, then CPU time. Memory comes
before CPU time because filling memory up to the OOM kill costs CPU time too, more on a busy
host: the other order would flip such a program between the two.
"""

from __future__ import annotations

import signal
from typing import Any

from crucible.sandbox_service.models import ErrorInfo, ResolvedLimits, Status, Subtype

# A test killed by SIGKILL that we did not send, with at least this share of its memory limit
# resident, was killed by the cgroup's OOM killer.
OOM_SHARE = 0.5
_TIME_SIGNALS = {signal.SIGXCPU, signal.SIGPROF}


def limit_exceeded(
    record: dict[str, Any],
    limits: ResolvedLimits,
    index: int,
    *,
    memory_error_type: str,
    out_of_memory: bool = False,
) -> tuple[Status, ErrorInfo] | None:
    """The limit status and error of test ``index``, or None when it stayed within every limit.

    ``record`` is the supervisor's (exit code, ``killed_by``, output totals, CPU time, peak
    memory); ``out_of_memory``: the program itself reported running out of memory. The jail's
    cgroup allows the harness a share on top of the memory limit, so a test that finished above
    the limit exceeded it too.
    """
    exit_code = int(record.get("exit_code", 0))
    killed_by = record.get("killed_by", "")
    total = record.get("stdout_total", 0) + record.get("stderr_total", 0)
    if killed_by == "output" or total > limits.output_limit_bytes:
        message = f"wrote more than {limits.output_limit_bytes} bytes of output"
        return Status.OUTPUT_LIMIT_EXCEEDED, _error("OutputLimitExceeded", message, index)
    wall = killed_by == "wall"
    peak = record.get("peak_memory_bytes", 0)
    over_memory = (
        out_of_memory
        or peak > limits.memory_limit_bytes
        or (exit_code == -signal.SIGKILL and peak >= OOM_SHARE * limits.memory_limit_bytes)
    )
    if over_memory and not wall:
        message = f"exceeded the memory limit of {limits.memory_limit_bytes >> 20} MiB"
        return Status.MEMORY_LIMIT_EXCEEDED, _error(memory_error_type, message, index)
    if (
        wall
        or record.get("cpu_ms", 0.0) > limits.cpu_time_limit_ms
        or (exit_code < 0 and -exit_code in _TIME_SIGNALS)
    ):
        which = "wall-clock backstop" if wall else "CPU time limit"
        limit_ms = limits.wall_time_limit_ms if wall else limits.cpu_time_limit_ms
        message = f"exceeded the {which} of {limit_ms / 1000:g} s"
        return Status.TIME_LIMIT_EXCEEDED, _error("TimeLimitExceeded", message, index)
    return None


def _error(kind: str, message: str, index: int) -> ErrorInfo:
    return ErrorInfo(type=kind, message=message, subtype=Subtype.GLOBAL, test_index=index)
