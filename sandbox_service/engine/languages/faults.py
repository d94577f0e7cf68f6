"""Fatal signals of native programs (C, C++, Rust), with the line they happened on.

``runtime/crucible_rt.c`` is linked into every such program. On SIGSEGV, SIGBUS, SIGFPE, SIGILL
or SIGABRT it prints one ``@@crucible-fault`` line with the signal, whether the fault address
lies next to the stack pointer (a stack overflow), the program counter and the return
addresses; the supervisor resolves them with ``addr2line`` inside the run jail, and the first
frame in the candidate's file is the failing line.
"""

from __future__ import annotations

import re
from typing import Any

from crucible.sandbox_service.engine.languages import base
from crucible.sandbox_service.engine.languages.base import Command, Failure, Paths, SourceMap
from crucible.sandbox_service.models import Status

FAULT_MARKER = "@@crucible-fault"
RUNTIME_SOURCE = "crucible_rt.c"
_FAULT = re.compile(rf"^{FAULT_MARKER} (?P<signal>\w+) (?P<overflow>[01])", re.M)
_SYMBOLISED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+)", re.M)
_MARKER_LINE = re.compile(rf"^\n?{FAULT_MARKER} .*\n?", re.M)
_SIGNAL_MESSAGES = {
    "SIGSEGV": "invalid memory access (segmentation fault)",
    "SIGFPE": "arithmetic exception (e.g. integer division by zero)",
    "SIGBUS": "bus error (misaligned or unmapped memory access)",
    "SIGILL": "illegal instruction",
    "SIGABRT": "the program aborted",
}


def available() -> bool:
    """Whether the symboliser fault lines need is installed."""
    return base.tool("addr2line") is not None


def runtime_source(paths: Paths) -> str:
    return f"{paths.runtime}/{RUNTIME_SOURCE}"


def with_symboliser(command: Command, binary: str) -> Command:
    """``command`` plus the post step that resolves a fault line's addresses in ``binary``."""
    symboliser = base.tool("addr2line")
    assert symboliser is not None
    return Command(
        argv=command.argv,
        env=command.env,
        cwd=command.cwd,
        # -i: a frame inlined into the candidate's code reports the candidate's line too
        post=[*command.post, [symboliser, "-i", "-e", binary, "{addresses}"]],
        fault_marker=FAULT_MARKER,
        collect=command.collect,
    )


def frames(record: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Resolved fault addresses, innermost first; unknown ones and the handler's own left out."""
    post = record.get("post") or [""]
    return [
        (found["file"], int(found["line"]), "")
        for found in _SYMBOLISED.finditer(str(post[-1]))
        if found["file"] != "??" and not found["file"].endswith(RUNTIME_SOURCE)
    ]


def without_marker(stderr: str) -> str:
    return _MARKER_LINE.sub("", stderr)


def fault(record: dict[str, Any], smap: SourceMap) -> Failure | None:
    """The fatal signal a program reported, with its candidate line."""
    found = _FAULT.search(str(record.get("stderr", "")))
    if found is None:
        return None
    resolved = frames(record)
    line = base.deepest_candidate_line(resolved, smap)
    traceback = base.frames_text(resolved, smap)
    if found["overflow"] == "1":
        message = "stack overflow (infinite or too deep recursion)"
        return Failure(Status.RUNTIME_ERROR, "StackOverflow", message, line, traceback)
    name = found["signal"]
    return Failure(Status.RUNTIME_ERROR, name, _SIGNAL_MESSAGES.get(name, name), line, traceback)
