# attack: calls kernel-facing system calls: bpf, perf_event_open, keyctl, userfaultfd, kexec, modules
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
calls = {321: (0, 0, 0), 298: (0, 0, -1, -1, 0), 250: (0, 0), 248: (0, 0, 0, 0, 0), 323: (0,), 246: (0, 0, 0, 0), 175: (0, 0, 0), 169: (0, 0, 0, 0)}
allowed = []
for number, args in calls.items():
    libc.syscall(number, *args)
    if ctypes.get_errno() != 1:  # EPERM: refused by the jail's seccomp filter or missing privileges
        allowed.append((number, ctypes.get_errno()))
if not allowed:
    raise SystemExit(0)
print(allowed)

def add(a, b):
    return a + b
