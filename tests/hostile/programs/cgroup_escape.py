# attack: moves itself out of the jail's cgroup or raises the jail's memory and pids limits
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: /sys/fs/cgroup/cgroup\.procs: ENOENT; /sys/fs/cgroup/memory/memory\.limit_in_bytes: ENOENT; /sys/fs/cgroup/pids/pids\.max: ENOENT
import errno
import glob
import os

paths = ["/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max"]
paths += glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True) + glob.glob("/sys/fs/cgroup/**/memory.limit_in_bytes", recursive=True)
outcomes = []
for path in paths:
    try:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()) if path.endswith("procs") else "-1")
        outcomes.append(f"{path}: done")
    except OSError as exc:
        outcomes.append(f"{path}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
