# attack: pages out the harness's (pid 1's) memory with process_madvise through a pidfd, to slow or disturb it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: process_madvise: EPERM
import ctypes
import errno
import os


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


SYS_PROCESS_MADVISE, MADV_PAGEOUT = 440, 21
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(1)
region = IoVec(0x400000, 1 << 20)
done = libc.syscall(SYS_PROCESS_MADVISE, pidfd, ctypes.byref(region), 1, MADV_PAGEOUT, 0) >= 0
raise OSError(f"process_madvise: {'done' if done else errno.errorcode[ctypes.get_errno()]}")
