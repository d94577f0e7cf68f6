# attack: allocates and touches memory one MiB at a time until something gives
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: MEMORY_LIMIT_EXCEEDED
# stopped: MemoryError: exceeded the memory limit of 128 MiB
chunks = []
while True:
    chunks.append(b"x" * (1 << 20))
