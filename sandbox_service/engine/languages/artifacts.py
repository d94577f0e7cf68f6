"""Compiled artifacts, cached by what produced them, so n tests of one program compile once.

The key is the SHA-256 of the language, its toolchain version, every file of the build plan
(candidate, prelude, generated test drivers) and every compile command. Why a program cannot
poison the cache:

* a compile writes only into a fresh directory of its own (bound read-write into the compile
  jail as the unprivileged jail user); nothing of it is used before the compile jail is gone;
* before publishing, the trusted side re-owns every entry to root, keeps only regular files and
  directories (symlinks, fifos and devices are deleted, never followed), and drops write and
  set-id bits; then it renames the directory into place atomically;
* programs only ever see an artifact through a read-only bind mount;
* the key covers the source itself, so whatever a build produced can only be served to the
  very same program and tests.

A bounded number of entries is kept; the least recently used go first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from crucible.sandbox_service.engine.jail import JAIL_UID

DEFAULT_MAX_ENTRIES = 512
SCRATCH_PREFIX = "build-"
STALE_SCRATCH_S = 3600.0


def default_root() -> Path:
    """``$CRUCIBLE_ARTIFACT_CACHE``, else a directory under the system's temporary directory
    private to this user."""
    configured = os.environ.get("CRUCIBLE_ARTIFACT_CACHE")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"crucible-artifacts-{os.getuid()}"


def seal(directory: Path) -> None:
    """Make a finished build read-only and root-owned, deleting anything but files and dirs."""
    for entry in sorted(directory.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
            entry.unlink()
            continue
        mode = entry.lstat().st_mode
        if os.getuid() == 0:
            os.chown(entry, 0, 0, follow_symlinks=False)
        if entry.is_dir():
            entry.chmod(0o555)
        else:
            entry.chmod(0o555 if mode & 0o111 else 0o444)
    if os.getuid() == 0:
        os.chown(directory, 0, 0)
    directory.chmod(0o555)


class ArtifactCache:
    """Directories of finished builds, one per key; concurrent builds of a key run once."""

    def __init__(self, root: Path | None = None, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.root = root or default_root()
        self.max_entries = max_entries
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def _ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)

    def lookup(self, key: str) -> Path | None:
        path = self.root / key
        if path.is_dir():
            os.utime(path)
            return path
        return None

    def scratch(self, jailed: bool) -> Path:
        """A fresh directory for one build, writable by the jail's user."""
        self._ensure_root()
        path = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=self.root))
        if jailed and os.getuid() == 0:
            os.chown(path, JAIL_UID, JAIL_UID)
        return path

    def publish(self, key: str, scratch: Path) -> Path:
        """Seal ``scratch`` and move it into place (another process may have been first)."""
        seal(scratch)
        final = self.root / key
        try:
            scratch.rename(final)
        except OSError:
            discard(scratch)
            if not final.is_dir():
                raise
        self._evict()
        return final

    def _evict(self) -> None:
        now = time.time()
        entries = []
        for path in self.root.iterdir():
            if not path.name.startswith(SCRATCH_PREFIX):
                entries.append(path)
            elif now - path.stat().st_mtime > STALE_SCRATCH_S:
                discard(path)  # left by a process that died mid-build
        if len(entries) <= self.max_entries:
            return
        entries.sort(key=lambda path: path.stat().st_mtime)
        for path in entries[: len(entries) - self.max_entries]:
            discard(path)

    async def get_or_build(
        self, key: str, build: Callable[[], Awaitable[Path | None]]
    ) -> tuple[Path | None, bool]:
        """The artifact for ``key``, building it with ``build`` when missing (``build``
        returns the published directory, or None when the compile failed). Returns the path
        and whether it came from the cache."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                found = self.lookup(key)
                if found is not None:
                    return found, True
                return await build(), False
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def discard(path: Path) -> None:
    """Remove a build directory, also one that was sealed read-only."""
    if not path.exists():
        return
    for entry in [path, *path.rglob("*")]:
        if entry.is_dir() and not entry.is_symlink():
            entry.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)
