# attack: replaces abs, sorted, len, isinstance, all and AssertionError in the builtins module
# test: {"kind": "assert", "code": "assert abs(add(1, 2) - 3) < 1e-9\nassert sorted(add(1, 2)) == [3]\nassert len(add(1, 2)) == 1\nassert all([add(1, 2) == 3])"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import builtins

builtins.abs = lambda value: 0
builtins.sorted = lambda value: [3]
builtins.len = lambda value: 1
builtins.all = lambda value: True
builtins.isinstance = lambda value, kind: True
builtins.AssertionError = type("AssertionError", (Exception,), {})


def add(a, b):
    return 7
