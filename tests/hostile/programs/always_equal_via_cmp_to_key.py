# attack: functools.cmp_to_key wraps a comparison that says "equal" to everything: a builtin type, program code inside
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import functools

Key = functools.cmp_to_key(lambda left, right: 0)


def add(a, b):
    return Key(0)
