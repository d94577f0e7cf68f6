# attack: writes into the harness's memory with process_vm_writev
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: process_vm_writev: EPERM; process_vm_readv: EPERM
import ctypes
import errno


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
buffer = ctypes.create_string_buffer(8)
local = IoVec(ctypes.cast(buffer, ctypes.c_void_p), 8)
remote = IoVec(0x400000, 8)
outcomes = []
for name, number in (("process_vm_writev", 311), ("process_vm_readv", 310)):
    done = libc.syscall(number, 1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0
    outcomes.append(f"{name}: {'done' if done else errno.errorcode[ctypes.get_errno()]}")
raise OSError("; ".join(outcomes))
