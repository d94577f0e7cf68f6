# attack: fills memory the OOM killer does not attribute to any process (tmpfs, pipe buffers) so that it picks the harness
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: SANDBOX_ERROR
# stopped: SandboxError: harness exited with code 137 mid-job; stderr:
# limits: {"memory_limit_bytes": 16777216}
import fcntl
import os

block = b"m" * (1 << 20)
try:
    for number in range(64):
        with open(f"/tmp/fill-{number}", "wb") as handle:
            handle.write(block)
except OSError:
    pass
pipes = []
try:
    while True:
        read_end, write_end = os.pipe()
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)
        os.set_blocking(write_end, False)
        try:
            while True:
                os.write(write_end, block)
        except BlockingIOError:
            pass
        pipes.append((read_end, write_end))
except OSError:
    pass
print(len(pipes))
