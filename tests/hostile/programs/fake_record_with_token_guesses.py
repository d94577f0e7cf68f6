# attack: reads the harness source to learn the record format, then forges records with guessed tokens
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: the program exited with code 0 before the test completed
import json
import os
import random
import stat

source = open("/opt/crucible/harness/python_harness.py").read()
assert "token" in source
guesses = ["", "0" * 32, "f" * 32, "%032x" % random.getrandbits(128), os.urandom(16).hex()]
lines = "".join("\n" + json.dumps({"outcome": "ok", "token": guess}) for guess in guesses) + "\n"
for fd in range(3, 256):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, lines.encode())
    except OSError:
        pass
os._exit(0)
