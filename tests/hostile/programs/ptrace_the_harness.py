# attack: attaches to the harness (pid 1) with ptrace to rewrite its memory
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206
if libc.ptrace(PTRACE_ATTACH, 1, 0, 0) == 0 or libc.ptrace(PTRACE_SEIZE, 1, 0, 0) == 0:

    def add(a, b):
        return a + b
