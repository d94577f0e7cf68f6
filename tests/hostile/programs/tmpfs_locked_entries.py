# attack: leaves unreadable, unwritable directories and files (and a directory named solution.py) in /tmp
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: left locked entries and a directory named solution\.py in /tmp
import os

for name in ("locked", "locked/inner", "locked/inner/deeper"):
    os.mkdir(f"/tmp/{name}")
    with open(f"/tmp/{name}/secret", "w") as handle:
        handle.write("x")
    os.chmod(f"/tmp/{name}/secret", 0)
for name in ("locked/inner/deeper", "locked/inner", "locked"):
    os.chmod(f"/tmp/{name}", 0)
os.unlink("/tmp/solution.py")
os.mkdir("/tmp/solution.py")
os.symlink("/tmp/locked", "/tmp/link")
raise RuntimeError("left locked entries and a directory named solution.py in /tmp")
