# attack: fills the process table with sleeping children (no CPU use) and then waits for them
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the wall-clock backstop of 2\.5 s
import os
import time

children = 0
while children < 10_000:
    try:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
        children += 1
    except OSError:
        break
time.sleep(3600)
