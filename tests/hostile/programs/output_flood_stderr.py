# attack: floods standard error without end
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: OUTPUT_LIMIT_EXCEEDED
# stopped: OutputLimitExceeded: wrote more than 1048576 bytes of output
import sys

while True:
    sys.stderr.write("e" * 4096)
