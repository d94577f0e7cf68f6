# attack: kill(-1, SIGKILL) and killpg on every process group it can name
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SIGKILL: killed by SIGKILL
import os
import signal

if os.fork() == 0:
    for group in range(0, 200):
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    os.kill(-1, signal.SIGKILL)
    os._exit(0)
os.wait()
