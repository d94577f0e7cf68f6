# attack: opens descriptors until none are left
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: \[Errno 24\] Too many open files: '/dev/null'
import os

held = []
while True:
    held.append(os.open("/dev/null", os.O_RDONLY))
