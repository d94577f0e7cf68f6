# attack: raises an exception whose __str__ calls os._exit(0) when the harness describes it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import os


class Trap(Exception):
    def __str__(self):
        os._exit(0)


def add(a, b):
    raise Trap
