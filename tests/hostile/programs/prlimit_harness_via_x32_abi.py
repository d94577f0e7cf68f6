# attack: lowers the harness's CPU limit with prlimit64 through the x32 ABI (bit 30 of the call number)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SIGSYS: killed by SIGSYS
import ctypes

# prlimit64(1, RLIMIT_CPU, {0, 0}, NULL) as an x32 call (x86-64's number with bit 30 set): a
# filter that only checks x86-64's numbers would let it through where the kernel has x32.
X32_SYSCALL_BIT, PRLIMIT64 = 0x40000000, 302
libc = ctypes.CDLL(None, use_errno=True)
limit = (ctypes.c_uint64 * 2)(0, 0)
result = libc.syscall(X32_SYSCALL_BIT | PRLIMIT64, 1, 0, limit, None)
raise OSError(f"x32 prlimit64 returned {result}, errno {ctypes.get_errno()}")
