# attack: sends every signal number to pid 1 from a forked child, twice
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os
import signal

if os.fork() == 0:
    for _ in range(2):
        for number in range(1, signal.NSIG):
            try:
                os.kill(1, number)
            except OSError:
                pass
    os._exit(0)
os.wait()
