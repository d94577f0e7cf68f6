# attack: the tested function calls os._exit(0) in the middle of the test
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# test: {"kind": "call", "function": "add", "args": [1, 2], "expected": 3}
# expect: RUNTIME_ERROR
import os


def add(a, b):
    os._exit(0)
