# attack: an endless loop at import time, before any test can run
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
while True:
    pass
