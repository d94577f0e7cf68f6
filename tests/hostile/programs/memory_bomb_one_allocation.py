# attack: one huge allocation far beyond the memory limit
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: MEMORY_LIMIT_EXCEEDED
# stopped: MemoryError: exceeded the memory limit of 128 MiB
hog = b"x" * (8 << 30)


def add(a, b):
    return a + b
