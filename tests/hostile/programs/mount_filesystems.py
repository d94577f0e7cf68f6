# attack: mounts proc, sysfs and a bind of / to look at the host
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: proc: EPERM; sysfs: EPERM; /: EPERM
import ctypes
import errno
import os

libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("/tmp/m", exist_ok=True)
outcomes = []
for source, kind, flags in ((b"proc", b"proc", 0), (b"sysfs", b"sysfs", 0), (b"/", None, 4096)):
    done = libc.mount(source, b"/tmp/m", kind, flags, None) == 0
    outcomes.append(f"{source.decode()}: {'done' if done else errno.errorcode[ctypes.get_errno()]}")
raise OSError("; ".join(outcomes))
