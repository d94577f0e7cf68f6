# attack: registers atexit hooks and a finaliser that print success and write fake records at exit
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import atexit
import json
import os
import weakref


def forge():
    print("PASSED")
    for fd in range(0, 256):
        try:
            os.write(fd, ("\n" + json.dumps({"outcome": "ok"}) + "\n").encode())
        except OSError:
            pass


class Marker:
    pass


marker = Marker()
atexit.register(forge)
weakref.finalize(marker, forge)


def add(a, b):
    return 0
