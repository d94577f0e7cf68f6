# attack: freezes time.time and time.monotonic for a test that checks the function is quick
# test: {"kind": "assert", "code": "import time\nstart = time.monotonic()\nresult = slow(5)\nassert time.monotonic() - start < 0.05\nassert result == 120"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import time

time.monotonic = lambda: 0.0
time.time = lambda: 0.0


def slow(n):
    time.sleep(0.2)
    return 120
