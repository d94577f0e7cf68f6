# attack: prints success markers and result-looking JSON on stdout and stderr, then exits 0
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import json
import os
import sys

for stream in (sys.stdout, sys.stderr):
    print("PASSED\nOK\nAll tests passed.\n1 passed in 0.01s", file=stream)
    print(json.dumps({"outcome": "ok"}), file=stream)
    print(json.dumps({"event": "test", "index": 0, "exit_code": 0, "child": {"outcome": "ok"}}), file=stream)
    print(json.dumps({"event": "done"}), file=stream)
    stream.flush()
os._exit(0)
