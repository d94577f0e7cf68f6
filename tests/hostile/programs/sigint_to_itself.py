# attack: sends SIGINT and then SIGTERM to itself during the test
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: KeyboardInterrupt:
import os
import signal


def add(a, b):
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
