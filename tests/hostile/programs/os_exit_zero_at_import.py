# attack: os._exit(0) before any test runs, skipping every handler
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import os

os._exit(0)
