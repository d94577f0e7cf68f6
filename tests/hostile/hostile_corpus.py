"""The hostile corpora and probes of the host they run on: Python programs under ``programs/``
(run by the harness) and programs of the other languages under ``native_programs/`` (most
attack the compile jail, those named ``*_run_*`` the run jail).

Each program starts with a header of comment lines (``#`` in Python, ``//`` elsewhere)::

    # attack: what the program tries (one line)
    # test: {"kind": "assert", "code": "assert add(1, 2) == 3"}   (one or more, TESTS.jsonl form)
    # expect: RUNTIME_ERROR                                       (the status it gets)
    # stopped: OSError: /etc/shadow: ENOENT                       (what stopping it looks like)
    # limits: {"cpu_time_limit_ms": 1000}                          (optional, over DEFAULT_LIMITS)
    // compile-limits: {"cpu_ms": 4000}                            (optional, over CompileLimits)

``stopped`` is a regular expression that must match all of ``"<error type>: <error message>"``
of the verdict: the errno a defence answers with, the signal, the limit, or the message the
program raises after seeing every attempt fail. Programs report their attempts instead of
merely failing, so that an ImportError or a harness bug cannot pass for a blocked attack;
a program whose attack succeeded reports that too ("done") and no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from crucible.cli.tests_file import parse_line
from crucible.sandbox_service.engine.jail import JAIL_UID, cgroup_parent_dirs
from crucible.sandbox_service.engine.python_runner import HARNESS_DIR, python_runtime
from crucible.sandbox_service.models import (
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    Status,
    TestCase,
)

PROGRAMS = Path(__file__).with_name("programs")
NATIVE_PROGRAMS = Path(__file__).with_name("native_programs")
# The language of each compile program, by its suffix.
LANGUAGES = {
    ".c": "c",
    ".cpp": "cpp",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".js": "javascript",
}
REPO = Path(__file__).resolve().parents[2]
# Every file a program tries to create outside the jail's /tmp carries this in its name.
MARKER = "crucible-hostile"
DEFAULT_LIMITS = {
    "cpu_time_limit_ms": 1000.0,
    "wall_time_limit_ms": 2500.0,
    "memory_limit_bytes": 128 << 20,
    "output_limit_bytes": 1 << 20,
}
# The harnesses' sources and the compiled copies jails see: no program may change them.
HARNESS_TREES = (HARNESS_DIR, Path(python_runtime().harness_dir))
_HEADER_KEYS = ("attack", "test", "expect", "stopped", "limits", "compile-limits")


class CorpusError(ValueError):
    """A program file whose header does not describe it; the message names the file."""


@dataclass(frozen=True)
class HostileProgram:
    name: str
    language: str
    attack: str
    source: str
    tests: tuple[TestCase, ...]
    expect: Status
    stopped: re.Pattern[str]
    limits: Limits
    # CompileLimits fields that differ from the server's (native programs only).
    compile_limits: dict[str, Any] = field(default_factory=dict)

    def request(self) -> ExecuteRequest:
        return ExecuteRequest(
            request_id=self.name,
            language=self.language,
            source=self.source,
            tests=list(self.tests),
            limits=self.limits,
        )

    def check(self, verdict: ExecuteResponse) -> None:
        """Fail unless ``verdict`` is this program's expected status for its stated reason."""
        error = verdict.error
        reason = "" if error is None else f"{error.type}: {error.message}".strip()
        summary = f"{self.attack}: {verdict.status} {reason!r}"
        assert verdict.status is not Status.PASSED, summary
        assert verdict.status is self.expect, summary
        assert self.stopped.fullmatch(reason), f"{summary} does not match {self.stopped.pattern!r}"


def _header(path: Path, comment: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {key: [] for key in _HEADER_KEYS}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith(comment):
            break
        key, separator, value = line[len(comment) :].partition(":")
        if separator and key in fields:
            fields[key].append(value.strip())
    return fields


def load_program(path: Path) -> HostileProgram:
    python = path.suffix == ".py"
    comment = "# " if python else "// "
    fields = _header(path, comment)
    for key in ("attack", "expect", "stopped"):
        if len(fields[key]) != 1 or not fields[key][0]:
            raise CorpusError(f"{path.name}: needs exactly one '{comment}{key}:' line")
    if not fields["test"]:
        raise CorpusError(f"{path.name}: needs '{comment}test:' lines")
    expect = Status(fields["expect"][0])
    if expect is Status.PASSED:
        raise CorpusError(f"{path.name}: a hostile program may not expect PASSED")
    limits = dict(DEFAULT_LIMITS)
    for extra in fields["limits"]:
        limits.update(json.loads(extra))
    compile_limits: dict[str, Any] = {}
    for extra in fields["compile-limits"]:
        compile_limits.update(json.loads(extra))
    tests = tuple(
        parse_line(line, f"{path.name}:test {number}")
        for number, line in enumerate(fields["test"], 1)
    )
    return HostileProgram(
        name=path.stem,
        language="python" if python else LANGUAGES[path.suffix],
        attack=fields["attack"][0],
        source=path.read_text(encoding="utf-8"),
        tests=tests,
        expect=expect,
        stopped=re.compile(fields["stopped"][0]),
        limits=Limits(**limits),
        compile_limits=compile_limits,
    )


def load_corpus() -> list[HostileProgram]:
    return [load_program(path) for path in sorted(PROGRAMS.glob("*.py"))]


def load_native_corpus() -> list[HostileProgram]:
    paths = [path for path in sorted(NATIVE_PROGRAMS.iterdir()) if path.suffix in LANGUAGES]
    return [load_program(path) for path in paths]


def wait_until_empty(probe: Callable[[], list[str]], what: str, timeout: float = 5.0) -> None:
    """Poll ``probe()`` until it returns an empty list; fail with what it last returned."""
    deadline = time.monotonic() + timeout
    found = probe()
    while found and time.monotonic() < deadline:
        time.sleep(0.05)
        found = probe()
    assert not found, f"{what}: {found}"


def jail_groups(cgroup_parent: str) -> list[str]:
    """The groups of jails under ``cgroup_parent`` that still exist."""
    return [
        str(group)
        for directory in cgroup_parent_dirs(cgroup_parent)
        for group in directory.glob("NSJAIL.*")
    ]


def remove_cgroup_parent(cgroup_parent: str) -> None:
    """Fail unless every jail under ``cgroup_parent`` left its groups; then remove the parent."""
    wait_until_empty(lambda: jail_groups(cgroup_parent), "cgroups of jails left behind")
    for directory in cgroup_parent_dirs(cgroup_parent):
        directory.rmdir()


def harness_digests() -> list[str]:
    return [tree_digest(tree) for tree in HARNESS_TREES]


def marker_files() -> list[str]:
    """Files named with MARKER in the host directories a jail escape would write to."""
    places = {
        Path("/"),
        Path("/tmp"),
        Path("/var/tmp"),
        Path("/dev/shm"),
        Path.home(),
        Path(tempfile.gettempdir()),
        REPO,
        HARNESS_DIR,
        PROGRAMS,
        NATIVE_PROGRAMS,
    }
    found = []
    for place in places:
        try:
            found += [str(path) for path in place.iterdir() if MARKER in path.name]
        except OSError:
            continue
    return sorted(found)


def tree_digest(root: Path) -> str:
    """A digest of every file's path and bytes below ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def jailed_leftovers() -> list[str]:
    """Processes of this test run that run as the jail's user but are not a jail's first
    process: a program's processes that outlived its test."""
    leftovers = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.uids().real != JAIL_UID:
                continue
            parent = process.parent()
            if parent is None or parent.name() != "nsjail":
                leftovers.append(f"{process.pid} {process.name()} {process.cmdline()}")
        except psutil.Error:
            continue
    return leftovers
