# attack: takes the harness's verdict channel (pid 1's stdout) with pidfd_getfd and writes a forged pass into it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: pidfd_getfd: EPERM
import ctypes
import errno
import json
import os

SYS_PIDFD_GETFD = 438
libc = ctypes.CDLL(None, use_errno=True)
forged = {
    "event": "test", "index": 0, "exit_code": 0, "cpu_ms": 1.0, "wall_ms": 1.0,
    "peak_memory_bytes": 1, "stdout": "", "stdout_total": 0, "stderr": "", "stderr_total": 0,
    "killed_by": "", "child": {"outcome": "ok"},
}
pidfd = os.pidfd_open(1)
stolen = libc.syscall(SYS_PIDFD_GETFD, pidfd, 1, 0)
if stolen >= 0:
    os.write(stolen, (json.dumps(forged) + "\n" + json.dumps({"event": "done"}) + "\n").encode())
    os._exit(0)
raise OSError(f"pidfd_getfd: {errno.errorcode[ctypes.get_errno()]}")
