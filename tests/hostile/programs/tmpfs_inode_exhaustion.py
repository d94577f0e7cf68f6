# attack: creates tens of thousands of empty files in /tmp
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: left 40000 files in /tmp
import os

os.mkdir("/tmp/many")
for number in range(40_000):
    os.close(os.open(f"/tmp/many/{number}", os.O_CREAT | os.O_WRONLY))
raise RuntimeError("left 40000 files in /tmp")
