# attack: the first test leaves a file in /tmp that a later test of the same execution relies on
# test: {"kind": "assert", "code": "assert True"}
# test: {"kind": "assert", "code": "assert STATE == 'seen', STATE"}
# expect: WRONG_ANSWER
# stopped: AssertionError: absent
import os

STATE = "seen" if os.path.exists("/tmp/state") else "absent"
with open("/tmp/state", "w") as handle:
    handle.write("seen")
