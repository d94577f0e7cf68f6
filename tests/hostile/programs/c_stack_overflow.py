# attack: lifts the recursion limit and recurses until the C stack overflows
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR MEMORY_LIMIT_EXCEEDED
import sys

sys.setrecursionlimit(10**8)


def down(n):
    return down(n + 1) + 1


down(0)
