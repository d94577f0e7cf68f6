# attack: floods standard output without end
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: OUTPUT_LIMIT_EXCEEDED
# stopped: OutputLimitExceeded: wrote more than 1048576 bytes of output
line = "x" * 1000
while True:
    print(line)
