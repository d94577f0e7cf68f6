"""The in-jail harnesses' kernel guard: a second seccomp filter under nsjail's, installed by each
harness in itself so that every process it starts (a Python test, a compiler, a compiled
program) inherits it. Standard library only; loaded by path (``python_harness.py``,
``native_harness.py``).

Why a second filter, and why here rather than in nsjail's policy (``jail.py``): what runs in the
jail has the same uid as the harness, pid 1 of the jail, so without it a program could lower the
harness's limits (``prlimit``), renice or re-pin it, take its verdict channel (``pidfd_getfd``)
and write a forged record, or make a user namespace to gain capabilities. These calls must stay
allowed on the caller itself (Python, the C library and honest programs set their own limits and
affinity), which needs argument checks; and the filter must refuse a foreign system-call ABI
too, which nsjail's policy language cannot say: the x32 ABI shares x86-64's ``AUDIT_ARCH`` and
differs only in a bit of the call number. A filter that cannot be installed is reported, never
ignored: the harness tells the trusted side in its ``ready`` record, which then refuses to use it
(``harness_process.py``).

What the filter decides, on x86-64 and aarch64 (elsewhere no filter: reported as missing):

* a call of a foreign architecture (i386 ``int 0x80`` on x86-64, arm32 on aarch64) or of the x32
  ABI: the process is killed (SIGSYS), as nsjail's own filter kills foreign architectures;
* ``prlimit64``, ``setpriority``, ``sched_set{param,scheduler,affinity,attr}``, ``ioprio_set``
  naming another process: EPERM;
* ``pidfd_getfd``, ``process_madvise``: EPERM; ``clone`` with a namespace flag: EPERM;
* ``clone3``, whose flags sit in memory a filter cannot read: ENOSYS, on which the C library
  falls back to ``clone``.
"""

from __future__ import annotations

import builtins
import errno
import os
import struct
from typing import Any

globals()["__builtins__"] = dict(builtins.__dict__)

# <linux/audit.h>: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
# <asm/unistd.h>: x32 system calls are x86-64's numbering with this bit set. No call number of
# either machine reaches it, so the filter refuses it on both.
X32_SYSCALL_BIT = 0x40000000

# Call numbers per machine (<asm/unistd_64.h>; the generic table for aarch64).
SYSCALLS: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        AUDIT_ARCH_X86_64,
        {
            "prlimit64": 302,
            "setpriority": 141,
            "sched_setparam": 142,
            "sched_setscheduler": 144,
            "sched_setaffinity": 203,
            "ioprio_set": 251,
            "sched_setattr": 314,
            "pidfd_getfd": 438,
            "process_madvise": 440,
            "clone": 56,
            "clone3": 435,
        },
    ),
    "aarch64": (
        AUDIT_ARCH_AARCH64,
        {
            "prlimit64": 261,
            "setpriority": 140,
            "sched_setparam": 118,
            "sched_setscheduler": 119,
            "sched_setaffinity": 122,
            "ioprio_set": 30,
            "sched_setattr": 274,
            "pidfd_getfd": 438,
            "process_madvise": 440,
            "clone": 220,
            "clone3": 435,
        },
    ),
}
# Arguments (index, value) a call must have to be allowed: "this process" only.
PRIO_PROCESS, IOPRIO_WHO_PROCESS = 0, 1
OWN_PROCESS_ONLY: dict[str, tuple[tuple[int, int], ...]] = {
    "prlimit64": ((0, 0),),  # pid 0 = the caller
    "setpriority": ((0, PRIO_PROCESS), (1, 0)),
    "sched_setparam": ((0, 0),),
    "sched_setscheduler": ((0, 0),),
    "sched_setaffinity": ((0, 0),),
    "ioprio_set": ((0, IOPRIO_WHO_PROCESS), (1, 0)),
    "sched_setattr": ((0, 0),),
}
REFUSED = ("pidfd_getfd", "process_madvise")
# <linux/sched.h>: CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
# CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME
NAMESPACE_FLAGS = (
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
)

# <linux/seccomp.h>
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_MODE_FILTER = 2
# struct seccomp_data: nr, arch, instruction_pointer, then six 64-bit args; the low 32 bits of
# each argument come first on these little-endian machines.
DATA_NR, DATA_ARCH = 0, 4
DATA_ARGS = tuple(16 + 8 * index for index in range(6))
# <linux/filter.h> and <linux/bpf_common.h>
BPF_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS
BPF_JEQ_K = 0x05 | 0x10 | 0x00  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = 0x05 | 0x30 | 0x00  # BPF_JMP | BPF_JGE | BPF_K
BPF_JSET_K = 0x05 | 0x40 | 0x00  # BPF_JMP | BPF_JSET | BPF_K
BPF_RET_K = 0x06 | 0x00  # BPF_RET | BPF_K
# <linux/prctl.h>
PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 4, 22, 38


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    """One ``struct sock_filter``."""
    return struct.pack("=HBBI", code, jt, jf, k)


def _ret(action: int) -> bytes:
    return _insn(BPF_RET_K, action)


_EPERM = _ret(SECCOMP_RET_ERRNO | errno.EPERM)
_ALLOW = _ret(SECCOMP_RET_ALLOW)
_KILL = _ret(SECCOMP_RET_KILL_PROCESS)


def seccomp_filter(machine: str) -> bytes | None:
    """The classic-BPF program for ``machine`` (module docstring), None where its call numbers
    are unknown. Each checked call is one block after the number's jump; jump offsets count
    instructions skipped."""
    if machine not in SYSCALLS:
        return None
    arch, numbers = SYSCALLS[machine]
    blocks: list[tuple[int, list[bytes]]] = []
    for name, conditions in OWN_PROCESS_ONLY.items():
        block = []
        for index, value in conditions:
            block += [_insn(BPF_LD_W_ABS, DATA_ARGS[index]), _insn(BPF_JEQ_K, value, 1, 0), _EPERM]
        blocks.append((numbers[name], [*block, _ALLOW]))
    for name in REFUSED:
        blocks.append((numbers[name], [_EPERM]))
    blocks.append((numbers["clone3"], [_ret(SECCOMP_RET_ERRNO | errno.ENOSYS)]))
    clone = [
        _insn(BPF_LD_W_ABS, DATA_ARGS[0]),
        _insn(BPF_JSET_K, NAMESPACE_FLAGS, 0, 1),
        _EPERM,
        _ALLOW,
    ]
    blocks.append((numbers["clone"], clone))
    program = [
        _insn(BPF_LD_W_ABS, DATA_ARCH),
        _insn(BPF_JEQ_K, arch, 1, 0),
        _KILL,
        _insn(BPF_LD_W_ABS, DATA_NR),
        _insn(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1),
        _KILL,
    ]
    for number, block in blocks:
        program += [_insn(BPF_JEQ_K, number, 0, len(block)), *block]
    program.append(_ALLOW)
    return b"".join(program)


def install() -> str:
    """Guard this process and, by inheritance, every process it forks: PR_SET_DUMPABLE 0
    (processes of this uid may not take its descriptors with pidfd_getfd, its stdout being the
    verdict channel, or read its memory), then PR_SET_NO_NEW_PRIVS and the filter, which forks
    keep and nothing can remove. The harness itself never needs a call the filter refuses.
    Returns "" when all of it is in place, else why not."""
    try:
        import ctypes

        libc: Any = ctypes.CDLL(None, use_errno=True)
        code = seccomp_filter(os.uname().machine)
        if code is None:
            return f"no seccomp filter is known for machine {os.uname().machine!r}"

        class Program(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

        program = Program(len(code) // 8, code)
        for what, args in (
            ("PR_SET_DUMPABLE", (PR_SET_DUMPABLE, 0, 0, 0, 0)),
            ("PR_SET_NO_NEW_PRIVS", (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)),
            ("PR_SET_SECCOMP", (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0)),
        ):
            if libc.prctl(*args) != 0:
                return f"prctl({what}) failed: {os.strerror(ctypes.get_errno())}"
    except (ImportError, OSError, AttributeError) as exc:
        return f"cannot call prctl: {exc!r}"
    return ""
