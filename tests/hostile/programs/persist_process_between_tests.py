# attack: the first test leaves a daemon that keeps recreating a file a later test relies on
# test: {"kind": "assert", "code": "assert True"}
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os
import time

if os.path.exists("/tmp/daemon-state"):

    def add(a, b):
        return a + b

elif os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(0, 64):
            try:
                os.close(fd)
            except OSError:
                pass
        while True:
            try:
                open("/tmp/daemon-state", "w").close()
            except OSError:
                pass
            time.sleep(0.005)
    os._exit(0)
