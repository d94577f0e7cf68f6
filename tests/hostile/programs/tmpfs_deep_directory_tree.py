# attack: a directory tree deeper than any path can name, to defeat the cleanup between executions
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: left a tree 3000 directories deep
import os

os.chdir("/tmp")
for _ in range(3000):
    os.mkdir("d" * 40)
    os.chdir("d" * 40)
with open("leftover", "w") as handle:
    handle.write("still here")
raise RuntimeError("left a tree 3000 directories deep")
