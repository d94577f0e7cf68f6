# attack: the returned object's __del__ calls os._exit(0) once the failed comparison drops it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import os


class Bomb:
    def __del__(self):
        os._exit(0)


def add(a, b):
    return Bomb()
