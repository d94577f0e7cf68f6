# attack: takes away every permission on /tmp itself so that the next execution cannot use it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: left /tmp with mode 0o0
import os

open("/tmp/left", "w").close()
os.chmod("/tmp", 0)
raise RuntimeError(f"left /tmp with mode {oct(os.stat('/tmp').st_mode & 0o7777)}")
