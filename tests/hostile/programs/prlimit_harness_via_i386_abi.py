# attack: lowers the harness's CPU limit with prlimit64 through the i386 ABI (int 0x80)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SIGSYS: killed by SIGSYS
import ctypes
import mmap
import struct

# prlimit64(1, RLIMIT_CPU, {0, 0}, NULL) through int 0x80 (the i386 ABI, call 340): code and the
# new limit below 4 GiB (MAP_32BIT), since that ABI's arguments are 32 bits wide.
page = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40,
                 prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
base = ctypes.addressof(ctypes.c_char.from_buffer(page))
limit = base + 2048
code = (b"\x53" + b"\xb8" + struct.pack("<I", 340) + b"\xbb" + struct.pack("<I", 1)
        + b"\xb9" + struct.pack("<I", 0) + b"\xba" + struct.pack("<I", limit)
        + b"\x31\xf6" + b"\xcd\x80" + b"\x5b\xc3")
page.write(code)
call = ctypes.CFUNCTYPE(ctypes.c_long)(base)
raise OSError(f"int 0x80 prlimit64 returned {call()}")
