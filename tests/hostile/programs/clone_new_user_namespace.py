# attack: creates a user namespace with raw clone() to gain capabilities, then mounts the host's proc
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import ctypes
import os

CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17
libc = ctypes.CDLL(None, use_errno=True)
read_end, write_end = os.pipe()
pid = libc.syscall(56, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    os.makedirs("/tmp/p", exist_ok=True)
    mounted = libc.mount(b"proc", b"/tmp/p", b"proc", 0, None) == 0
    seen = os.path.exists("/tmp/p/1/environ") and mounted
    os.write(write_end, b"1" if seen else b"0")
    os._exit(0)
if pid > 0:
    os.waitpid(pid, 0)
    if os.read(read_end, 1) == b"1":

        def add(a, b):
            return a + b
