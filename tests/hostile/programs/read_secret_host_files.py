# attack: reads host secrets: /etc/shadow, /etc/passwd, SSH keys, the host's /proc and /sys
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: /etc/shadow: ENOENT; /etc/passwd: ENOENT; /etc/hostname: ENOENT; /root/\.ssh/id_rsa: ENOENT; /proc/1/environ: ENOENT; /proc/self/mountinfo: ENOENT; /sys/kernel/notes: ENOENT; /proc/kcore: ENOENT
import errno
import glob

paths = ["/etc/shadow", "/etc/passwd", "/etc/hostname", "/root/.ssh/id_rsa", "/proc/1/environ",
         "/proc/self/mountinfo", "/sys/kernel/notes", "/proc/kcore"] + glob.glob("/home/*/.ssh/*")
outcomes = []
for path in paths:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        outcomes.append(f"{path}: done")
    except OSError as exc:
        outcomes.append(f"{path}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
