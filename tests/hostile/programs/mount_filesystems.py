# attack: mounts proc, sysfs and a bind of / to look at the host
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("/tmp/m", exist_ok=True)
mounted = any(
    libc.mount(source, b"/tmp/m", kind, flags, None) == 0
    for source, kind, flags in ((b"proc", b"proc", 0), (b"sysfs", b"sysfs", 0), (b"/", None, 4096))
)
if mounted:

    def add(a, b):
        return a + b
