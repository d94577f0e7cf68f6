# attack: disables os.write, os._exit and sys.exit so that the harness cannot report the failure
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: ValueError: broken
import os
import sys

os.write = lambda fd, data: len(data)
os._exit = lambda code: None
os.fstat = None
sys.exit = lambda *args: None


def add(a, b):
    raise ValueError("broken")
