# attack: exhausts memory from a forked child, where the tested process's own accounting does not see it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: MEMORY_LIMIT_EXCEEDED
# stopped: MemoryError: exceeded the memory limit of 128 MiB
import os

pid = os.fork()
if pid == 0:
    chunks = []
    while True:
        chunks.append(b"x" * (1 << 20))
os.waitpid(pid, 0)
