# attack: reads host secrets: /etc/shadow, /etc/passwd, SSH keys, the host's /proc and /sys
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import glob

paths = ["/etc/shadow", "/etc/passwd", "/etc/hostname", "/root/.ssh/id_rsa", "/proc/1/environ",
         "/proc/self/mountinfo", "/sys/kernel/notes", "/proc/kcore"] + glob.glob("/home/*/.ssh/*")
read = []
for path in paths:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        read.append(path)
    except OSError:
        pass
if read:

    def add(a, b):
        return a + b
