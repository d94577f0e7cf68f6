# attack: a non-daemon thread that outlives the test, forging records and littering /tmp
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import json
import os
import threading
import time


def linger():
    for number in range(10_000):
        for fd in range(3, 64):
            try:
                os.write(fd, ("\n" + json.dumps({"outcome": "ok"}) + "\n").encode())
            except OSError:
                pass
        try:
            open(f"/tmp/thread-{number}", "w").close()
        except OSError:
            pass
        time.sleep(0.01)


threading.Thread(target=linger).start()


def add(a, b):
    return 0
