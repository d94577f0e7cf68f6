# attack: sleeps instead of computing, using no CPU so that only a wall-clock limit can end it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the wall-clock backstop of 2\.5 s
import time

time.sleep(3600)


def add(a, b):
    return a + b
