"""A real ``crucible sandbox serve`` process for the load, determinism, fault and metrics tests,
and probes of the host state it leaves behind.

Each server gets its own cgroup parent (``CRUCIBLE_CGROUP_PARENT``), its own ``TMPDIR`` and an
environment marker, so every process, cgroup and temp file it makes can be told apart from those
of other servers on the same host (other test runs included):

- nsjail processes inherit the server's environment, marker included;
- jailed processes (nsjail clears their environment) sit in groups below the cgroup parent;
- the jails' groups are directories below the cgroup parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families

from crucible.sandbox_service.engine.jail import cgroup_parent_dirs

CRUCIBLE = [sys.executable, "-c", "from crucible.cli.main import main; main()"]
MARKER = "CRUCIBLE_TEST_SERVER"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(0.02)


@dataclass
class LiveServer:
    """A running server process; see :func:`live_server`."""

    process: subprocess.Popen[str]
    address: str
    metrics_url: str | None
    http_url: str | None
    cgroup_parent: str
    marker: str
    tmpdir: Path
    log_path: Path
    workers: int
    _log_offset: int = field(default=0)

    # -- host state -------------------------------------------------------------------------

    def jail_groups(self) -> list[Path]:
        """The jails' cgroup directories (one per jail and controller)."""
        return [
            group for d in cgroup_parent_dirs(self.cgroup_parent) for group in d.glob("NSJAIL.*")
        ]

    def jailed_pids(self) -> set[int]:
        """Every process in one of this server's jails (found by cgroup membership)."""
        needle = f":/{self.cgroup_parent}/"
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if needle in (entry / "cgroup").read_text():
                    found.add(int(entry.name))
        return found

    def marked_pids(self) -> set[int]:
        """Processes carrying this server's environment marker (the server and its nsjails)."""
        needle = f"{MARKER}={self.marker}".encode()
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
        return found

    def program_pids(self) -> set[int]:
        """Jailed processes that are not a jail's harness: the programs and what they started."""
        programs = set()
        for pid in self.jailed_pids():
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(pid).parent()
                if parent is None or parent.name() != "nsjail":
                    programs.add(pid)
        return programs

    def harness_pids(self) -> set[int]:
        """Each jail's first process (the harness of a pooled worker)."""
        return self.jailed_pids() - self.program_pids()

    def wait_pool_idle(self, timeout: float = 20.0) -> None:
        """Wait until exactly ``workers`` jails exist, each holding only its harness, and no
        stale cgroup: the pool is whole and nothing of earlier programs survives."""

        def idle() -> bool:
            harnesses = self.harness_pids()
            return (
                len(harnesses) == self.workers
                and not self.program_pids()
                and len(self.jail_groups())
                == self.workers * len(cgroup_parent_dirs(self.cgroup_parent))
            )

        wait_until(idle, timeout, f"{self.workers} idle workers and nothing else in the jails")

    # -- metrics and logs -------------------------------------------------------------------

    def scrape(self) -> Samples:
        """The metrics endpoint's samples, keyed by (sample name, sorted labels)."""
        assert self.metrics_url is not None, "server started without --metrics-address"
        with urllib.request.urlopen(self.metrics_url, timeout=10) as reply:
            text = reply.read().decode()
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def log_records(self) -> list[dict[str, Any]]:
        """Every JSON log line the server has written so far."""
        return [
            json.loads(line)
            for line in self.log_path.read_text().splitlines()
            if line.startswith("{")
        ]

    def request_logs(self) -> list[dict[str, Any]]:
        return [r for r in self.log_records() if r.get("event") == "request"]

    # -- shutdown -----------------------------------------------------------------------------

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (graceful shutdown); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def assert_nothing_left(self) -> None:
        """After the server exited: no process of it, no jail cgroup, no temp file."""
        wait_until(lambda: not self.marked_pids(), 10, "the server's nsjail processes gone")
        wait_until(lambda: not self.jailed_pids(), 10, "every jailed process gone")
        assert self.jail_groups() == [], f"cgroups left behind: {self.jail_groups()}"
        assert list(self.tmpdir.iterdir()) == [], f"temp files left: {list(self.tmpdir.iterdir())}"


def remove_cgroup_parent(parent: str) -> None:
    """Remove a test's cgroup parent (it must be empty by then); the shared root stays."""
    for directory in cgroup_parent_dirs(parent):
        if directory.name.startswith("test-"):
            directory.rmdir()


@contextlib.contextmanager
def live_server(
    tmp_path: Path, *flags: str, workers: int = 2, metrics: bool = False, http: bool = False
) -> Iterator[LiveServer]:
    """Start ``crucible sandbox serve`` on 127.0.0.1 (pooled isolation unless ``flags`` say
    otherwise; with metrics and the HTTP front if asked) and yield it; on exit it is stopped
    (SIGTERM, then SIGKILL) and its cgroup parent removed."""
    marker = uuid.uuid4().hex[:12]
    parent = f"crucible/test-{marker}"
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    log_path = tmp_path / "server.log"
    env = {**os.environ, MARKER: marker, "CRUCIBLE_CGROUP_PARENT": parent, "TMPDIR": str(tmpdir)}
    argv = [*CRUCIBLE, "sandbox", "serve", "--address", "127.0.0.1:0", "--workers", str(workers)]
    if "--isolation" not in flags:
        argv += ["--isolation", "pooled"]
    if metrics:
        argv += ["--metrics-address", "127.0.0.1:0"]
    if http:
        argv += ["--http-address", "127.0.0.1:0"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*argv, *flags], stdout=subprocess.PIPE, stderr=log, text=True, env=env
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("listening on "), f"server did not start: {log_path.read_text()}"
        metrics_url = None
        if metrics:
            second = process.stdout.readline()
            assert second.startswith("metrics on "), second
            metrics_url = second.removeprefix("metrics on ").strip()
        http_url = None
        if http:
            line = process.stdout.readline()
            assert line.startswith("http on "), line
            http_url = line.removeprefix("http on ").strip()
        yield LiveServer(
            process=process,
            address=first.removeprefix("listening on ").strip(),
            metrics_url=metrics_url,
            http_url=http_url,
            cgroup_parent=parent,
            marker=marker,
            tmpdir=tmpdir,
            log_path=log_path,
            workers=workers,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        with contextlib.suppress(OSError):
            remove_cgroup_parent(parent)


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """Keep one core busy with a spinning process for the duration of the block."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()
