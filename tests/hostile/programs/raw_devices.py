# attack: opens kernel memory, disks and terminals, and creates device nodes with mknod
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: /dev/mem: ENOENT; /dev/kmem: ENOENT; /dev/kmsg: ENOENT; /dev/sda: ENOENT; /dev/vda: ENOENT; /dev/nvme0n1: ENOENT; /dev/tty: ENOENT; /dev/console: ENOENT; /dev/port: ENOENT; mknod: EPERM
import errno
import os
import stat

outcomes = []
for path in ("/dev/mem", "/dev/kmem", "/dev/kmsg", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/tty", "/dev/console", "/dev/port"):
    try:
        os.close(os.open(path, os.O_RDWR))
        outcomes.append(f"{path}: done")
    except OSError as exc:
        outcomes.append(f"{path}: {errno.errorcode[exc.errno]}")
try:
    os.mknod("/tmp/disk", stat.S_IFBLK | 0o600, os.makedev(8, 0))
    outcomes.append("mknod: done")
except OSError as exc:
    outcomes.append(f"mknod: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
