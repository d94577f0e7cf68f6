# attack: a forked child floods the inherited stdout while the tested process sleeps
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: OUTPUT_LIMIT_EXCEEDED
# stopped: OutputLimitExceeded: wrote more than 1048576 bytes of output
import os
import time

if os.fork() == 0:
    while True:
        os.write(1, b"g" * 65536)
time.sleep(3600)
