# attack: sys.exit(0) before any test runs, hoping a clean exit status counts as a pass
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: SystemExit: 0
import sys

sys.exit(0)
