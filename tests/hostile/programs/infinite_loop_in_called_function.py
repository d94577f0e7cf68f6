# attack: an endless loop inside the function a call test calls
# test: {"kind": "call", "function": "add", "args": [1, 2], "expected": 3}
# expect: TIME_LIMIT_EXCEEDED
def add(a, b):
    while True:
        a += b
