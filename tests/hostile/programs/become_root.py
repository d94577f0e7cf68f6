# attack: setuid(0), setgid(0), setgroups and capabilities to become root in the jail
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: euid 65534; setuid: EPERM; setgid: EPERM; setgroups: EPERM; setresuid: EPERM
import errno
import os

outcomes = []
for name, attempt in (("setuid", lambda: os.setuid(0)), ("setgid", lambda: os.setgid(0)),
                      ("setgroups", lambda: os.setgroups([0])), ("setresuid", lambda: os.setresuid(0, 0, 0))):
    try:
        attempt()
        outcomes.append(f"{name}: done")
    except OSError as exc:
        outcomes.append(f"{name}: {errno.errorcode[exc.errno]}")
raise OSError(f"euid {os.geteuid()}; " + "; ".join(outcomes))
