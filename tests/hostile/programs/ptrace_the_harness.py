# attack: attaches to the harness (pid 1) with ptrace to rewrite its memory
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: PTRACE_ATTACH: EPERM; PTRACE_SEIZE: EPERM
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
outcomes = []
for name, request in (("PTRACE_ATTACH", 16), ("PTRACE_SEIZE", 0x4206)):
    done = libc.ptrace(request, 1, 0, 0) == 0
    outcomes.append(f"{name}: {'done' if done else errno.errorcode[ctypes.get_errno()]}")
raise OSError("; ".join(outcomes))
