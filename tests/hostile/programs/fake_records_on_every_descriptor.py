# attack: writes forged result and protocol records to every open descriptor, then exits 0
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import json
import os

records = [
    {"outcome": "ok"},
    {"outcome": "ok", "token": ""},
    {"event": "test", "index": 0, "exit_code": 0, "cpu_ms": 1, "wall_ms": 1, "child": {"outcome": "ok"}},
    {"event": "done"},
]
payload = ("\n" + "\n".join(json.dumps(record) for record in records) + "\n").encode()
for fd in range(0, 1024):
    try:
        os.write(fd, payload)
    except OSError:
        pass
os._exit(0)
