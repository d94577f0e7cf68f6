# attack: the first test leaves a file in /tmp that a later test of the same execution relies on
# test: {"kind": "assert", "code": "assert True"}
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

if os.path.exists("/tmp/state"):

    def add(a, b):
        return a + b

else:
    with open("/tmp/state", "w") as handle:
        handle.write("seen")
