# attack: sends SIGKILL, SIGTERM, SIGINT, SIGSTOP and SIGSEGV to its parent, the harness
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os
import signal
import time

for number in (signal.SIGINT, signal.SIGTERM, signal.SIGSEGV, signal.SIGSTOP, signal.SIGKILL):
    try:
        os.kill(os.getppid(), number)
    except OSError:
        pass
time.sleep(0.2)
