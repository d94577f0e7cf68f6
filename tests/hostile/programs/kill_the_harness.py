# attack: sends SIGKILL, SIGTERM, SIGINT, SIGSTOP and SIGSEGV to its parent, the harness
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: sent SIGINT, SIGTERM, SIGSEGV, SIGSTOP, SIGKILL to pid 1, which still answers
import os
import signal
import time

parent = os.getppid()
sent = []
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGSEGV, signal.SIGSTOP, signal.SIGKILL):
    os.kill(parent, number)
    sent.append(number.name)
time.sleep(0.2)
raise RuntimeError(f"sent {', '.join(sent)} to pid {parent}, which still answers")
