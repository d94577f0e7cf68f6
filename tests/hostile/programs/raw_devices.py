# attack: opens kernel memory, disks and terminals, and creates device nodes with mknod
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os
import stat

opened = False
for path in ("/dev/mem", "/dev/kmem", "/dev/kmsg", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/tty", "/dev/console", "/dev/port"):
    try:
        os.close(os.open(path, os.O_RDWR))
        opened = True
    except OSError:
        pass
try:
    os.mknod("/tmp/disk", stat.S_IFBLK | 0o600, os.makedev(8, 0))
    opened = True
except OSError:
    pass
if opened:

    def add(a, b):
        return a + b
