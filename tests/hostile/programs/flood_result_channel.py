# attack: floods every inherited pipe with garbage so that the real result record is lost, then fails
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import os
import stat
import threading

garbage = b'{"outcome": "ok"}' * 4096


def flood(fd):
    try:
        for _ in range(400):
            os.write(fd, garbage)
    except OSError:
        pass


for fd in range(3, 256):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            threading.Thread(target=flood, args=(fd,), daemon=True).start()
    except OSError:
        pass


def add(a, b):
    return 0
