# attack: os._exit(0) before any test runs, skipping every handler
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

os._exit(0)
