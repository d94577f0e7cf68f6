# attack: unshares user, mount and network namespaces and re-enters the host's with setns
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: unshare\(user\|mount\): EPERM; unshare\(net\): EPERM; setns: EPERM
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
outcomes = []
for name, call in (("unshare(user|mount)", lambda: libc.unshare(CLONE_NEWUSER | CLONE_NEWNS)),
                   ("unshare(net)", lambda: libc.unshare(CLONE_NEWNET)), ("setns", lambda: libc.setns(0, 0))):
    done = call() == 0
    outcomes.append(f"{name}: {'done' if done else errno.errorcode[ctypes.get_errno()]}")
raise OSError("; ".join(outcomes))
