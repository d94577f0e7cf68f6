# attack: closes every inherited descriptor and reopens files in their place so that a failure cannot be reported
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import os

os.closerange(3, 1024)
for _ in range(8):
    os.open("/tmp/sink", os.O_WRONLY | os.O_CREAT)


def add(a, b):
    return 0
