# attack: lists host directories (home, the repository, /etc, /var, /run) looking for anything
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: /home: ENOENT; /work: ENOENT; /work/main: ENOENT; /etc: ENOENT; /var: ENOENT; /run: ENOENT; /proc: ENOENT; /sys: ENOENT; /boot: ENOENT; /srv: ENOENT; /mnt: ENOENT
import errno
import os

outcomes = []
for path in ("/home", "/work", "/work/main", "/etc", "/var", "/run", "/proc", "/sys", "/boot", "/srv", "/mnt"):
    try:
        outcomes.append(f"{path}: {len(os.listdir(path))} entries")
    except OSError as exc:
        outcomes.append(f"{path}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
