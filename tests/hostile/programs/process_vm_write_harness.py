# attack: writes into the harness's memory with process_vm_writev
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import ctypes


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
buffer = ctypes.create_string_buffer(8)
local = IoVec(ctypes.cast(buffer, ctypes.c_void_p), 8)
remote = IoVec(0x400000, 8)
written = libc.syscall(311, 1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
read = libc.syscall(310, 1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
if written >= 0 or read >= 0 or ctypes.get_errno() == 14:  # EFAULT: the call itself was allowed

    def add(a, b):
        return a + b
