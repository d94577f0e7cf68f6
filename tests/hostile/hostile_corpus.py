"""The hostile corpus (programs under ``programs/``) and probes of the host they run on.

Each program starts with a header of comment lines::

    # attack: what the program tries (one line)
    # test: {"kind": "assert", "code": "assert add(1, 2) == 3"}   (one or more, TESTS.jsonl form)
    # expect: TIME_LIMIT_EXCEEDED RUNTIME_ERROR                   (statuses it may get)
    # limits: {"cpu_time_limit_ms": 1000}                          (optional, over DEFAULT_LIMITS)

Most programs are written so that the attack *succeeding* is their only way to pass: they define
the function under test only when an escape worked, or they forge the pass instead of earning
it. A PASSED verdict therefore means the sandbox was beaten.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

from crucible.cli.tests_file import parse_line
from crucible.sandbox_service.engine.jail import JAIL_UID
from crucible.sandbox_service.engine.python_runner import HARNESS_DIR
from crucible.sandbox_service.models import ExecuteRequest, Limits, Status, TestCase

PROGRAMS = Path(__file__).with_name("programs")
REPO = Path(__file__).resolve().parents[2]
# Every file a program tries to create outside the jail's /tmp carries this in its name.
MARKER = "crucible-hostile"
DEFAULT_LIMITS = {
    "cpu_time_limit_ms": 1000.0,
    "wall_time_limit_ms": 2500.0,
    "memory_limit_bytes": 128 << 20,
    "output_limit_bytes": 1 << 20,
}
_HEADER_KEYS = ("attack", "test", "expect", "limits")


class CorpusError(ValueError):
    """A program file whose header does not describe it; the message names the file."""


@dataclass(frozen=True)
class HostileProgram:
    name: str
    attack: str
    source: str
    tests: tuple[TestCase, ...]
    expect: frozenset[Status]
    limits: Limits

    def request(self) -> ExecuteRequest:
        return ExecuteRequest(
            request_id=self.name, source=self.source, tests=list(self.tests), limits=self.limits
        )


def _header(path: Path) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {key: [] for key in _HEADER_KEYS}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, separator, value = line[2:].partition(":")
        if separator and key in fields:
            fields[key].append(value.strip())
    return fields


def load_program(path: Path) -> HostileProgram:
    fields = _header(path)
    if len(fields["attack"]) != 1 or not fields["attack"][0]:
        raise CorpusError(f"{path.name}: needs exactly one '# attack:' line")
    if not fields["test"] or len(fields["expect"]) != 1:
        raise CorpusError(f"{path.name}: needs '# test:' lines and one '# expect:' line")
    expect = frozenset(Status(word) for word in fields["expect"][0].split())
    if Status.PASSED in expect:
        raise CorpusError(f"{path.name}: a hostile program may not expect PASSED")
    limits = dict(DEFAULT_LIMITS)
    for extra in fields["limits"]:
        limits.update(json.loads(extra))
    tests = tuple(
        parse_line(line, f"{path.name}:test {number}")
        for number, line in enumerate(fields["test"], 1)
    )
    return HostileProgram(
        name=path.stem,
        attack=fields["attack"][0],
        source=path.read_text(encoding="utf-8"),
        tests=tests,
        expect=expect,
        limits=Limits(**limits),
    )


def load_corpus() -> list[HostileProgram]:
    return [load_program(path) for path in sorted(PROGRAMS.glob("*.py"))]


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
