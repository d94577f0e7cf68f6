# attack: lifts the recursion limit and recurses until the C stack overflows
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: MEMORY_LIMIT_EXCEEDED
# stopped: MemoryError: exceeded the memory limit of 128 MiB
import sys

sys.setrecursionlimit(10**8)


def down(n):
    return down(n + 1) + 1


down(0)
