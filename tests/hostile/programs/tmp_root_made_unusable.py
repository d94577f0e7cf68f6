# attack: takes away every permission on /tmp itself so that the next execution cannot use it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

open("/tmp/left", "w").close()
os.chmod("/tmp", 0)
