# attack: a classic fork bomb: every process forks forever and ignores failures
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the (CPU time limit of 1 s|wall-clock backstop of 2\.5 s)
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
