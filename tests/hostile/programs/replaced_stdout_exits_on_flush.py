# attack: replaces sys.stdout and sys.stderr with objects that exit 0 when the harness flushes them
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import os
import sys


class Exit:
    def write(self, text):
        return len(text)

    def flush(self):
        os._exit(0)


sys.stdout = sys.stderr = Exit()
sys.__stdout__.flush = Exit.flush


def add(a, b):
    return 0
