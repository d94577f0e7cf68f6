# attack: moves itself out of the jail's cgroup or raises the jail's memory and pids limits
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import glob
import os

escaped = False
for path in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True) + glob.glob("/sys/fs/cgroup/**/memory.limit_in_bytes", recursive=True):
    try:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()) if path.endswith("procs") else "-1")
        escaped = True
    except OSError:
        pass
if escaped:

    def add(a, b):
        return a + b
