# attack: creates a user namespace with raw clone() to gain capabilities, then mounts the host's proc
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: clone\(CLONE_NEWUSER\|CLONE_NEWNS\): EPERM
import ctypes
import errno
import os

CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.syscall(56, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    os.makedirs("/tmp/p", exist_ok=True)
    libc.mount(b"proc", b"/tmp/p", b"proc", 0, None)
    os._exit(0 if os.path.exists("/tmp/p/1/environ") else 1)
if pid > 0:
    os.waitpid(pid, 0)
    raise RuntimeError("clone(CLONE_NEWUSER|CLONE_NEWNS): done")
raise OSError(f"clone(CLONE_NEWUSER|CLONE_NEWNS): {errno.errorcode[ctypes.get_errno()]}")
