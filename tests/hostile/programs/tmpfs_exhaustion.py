# attack: fills the jail's /tmp until writes fail, hoping the next execution finds it full
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: filled /tmp with 7 files until ENOSPC
import errno
import os

block = b"f" * (1 << 20)
number = 0
try:
    while True:
        with open(f"/tmp/fill-{number}", "wb") as handle:
            handle.write(block * 8)
        number += 1
except OSError as exc:
    stopped = errno.errorcode[exc.errno]
raise RuntimeError(f"filled /tmp with {number} files until {stopped}")
