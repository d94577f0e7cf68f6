# attack: unshares user, mount and network namespaces and re-enters the host's with setns
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
escaped = libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 or libc.unshare(CLONE_NEWNET) == 0
escaped = escaped or libc.setns(0, 0) == 0
if escaped:

    def add(a, b):
        return a + b
