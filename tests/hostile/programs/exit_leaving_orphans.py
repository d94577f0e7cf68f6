# attack: the tested process exits at once while orphaned grandchildren keep its pipes open forever
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import os
import time

for _ in range(3):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(3600)
        os._exit(0)
os._exit(0)
