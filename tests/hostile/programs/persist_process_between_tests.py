# attack: the first test leaves a daemon that keeps recreating a file a later test relies on
# test: {"kind": "assert", "code": "assert True"}
# test: {"kind": "assert", "code": "assert STATE == 'seen', STATE"}
# expect: WRONG_ANSWER
# stopped: AssertionError: absent
import os
import time

STATE = "seen" if os.path.exists("/tmp/daemon-state") else "absent"
if os.fork() == 0:
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
time.sleep(0.1)  # the daemon has made its file before the first test ends
