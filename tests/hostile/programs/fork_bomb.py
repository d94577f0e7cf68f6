# attack: a classic fork bomb: every process forks forever and ignores failures
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED RUNTIME_ERROR
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
