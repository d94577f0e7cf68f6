# attack: spreads an endless computation over many threads so that no single thread looks busy
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the (CPU time limit of 1 s|wall-clock backstop of 2\.5 s)
import threading


def spin():
    while True:
        pass


for _ in range(8):
    threading.Thread(target=spin).start()
spin()
