# attack: a single 64 MiB write to the raw stdout descriptor
# test: {"kind": "stdio", "stdin": "", "expected_stdout": "3\n"}
# expect: OUTPUT_LIMIT_EXCEEDED
# stopped: OutputLimitExceeded: wrote more than 1048576 bytes of output
import os

os.write(1, b"z" * (64 << 20))
