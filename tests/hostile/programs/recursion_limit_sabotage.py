# attack: lowers the recursion limit so that the harness cannot serialise the failure it reports
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import sys


def add(a, b):
    sys.setrecursionlimit(20)
    return 0
