# attack: the tested function calls os._exit(0) in the middle of the test
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# test: {"kind": "call", "function": "add", "args": [1, 2], "expected": 3}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import os


def add(a, b):
    os._exit(0)
