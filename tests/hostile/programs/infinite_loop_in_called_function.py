# attack: an endless loop inside the function a call test calls
# test: {"kind": "call", "function": "add", "args": [1, 2], "expected": 3}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the (CPU time limit of 1 s|wall-clock backstop of 2\.5 s)
def add(a, b):
    while True:
        a += b
