# attack: writes a forged "ok" record to the result pipe first, then lets the test fail normally
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import json
import os
import stat

for fd in range(3, 256):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, (json.dumps({"outcome": "ok"}) + "\n").encode())
    except OSError:
        pass


def add(a, b):
    return a - b
