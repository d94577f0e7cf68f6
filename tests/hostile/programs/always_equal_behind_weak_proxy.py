# attack: hides an always-equal object behind a weakref proxy, whose type is builtin
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import weakref


class Anything:
    def __eq__(self, other):
        return True


keep = Anything()


def add(a, b):
    return weakref.proxy(keep)
