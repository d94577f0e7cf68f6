# attack: floods standard output without end
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: OUTPUT_LIMIT_EXCEEDED
line = "x" * 1000
while True:
    print(line)
