# attack: opens descriptors until none are left
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

held = []
while True:
    held.append(os.open("/dev/null", os.O_RDONLY))
