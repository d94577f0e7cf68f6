# attack: the tested function calls sys.exit(0), so the assert around it never runs
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# test: {"kind": "call", "function": "add", "args": [1, 2], "expected": 3}
# expect: RUNTIME_ERROR
# stopped: SystemExit: 0
import sys


def add(a, b):
    sys.exit(0)
