# attack: lists host directories (home, the repository, /etc, /var, /run) looking for anything
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

seen = []
for path in ("/home", "/work", "/work/main", "/etc", "/var", "/run", "/proc", "/sys", "/boot", "/srv", "/mnt"):
    try:
        if os.listdir(path):
            seen.append(path)
    except OSError:
        pass
if seen:

    def add(a, b):
        return a + b
