# attack: an int subclass whose comparisons always succeed
# test: {"kind": "assert", "code": "assert add(1, 2) == 3\nassert add(2, 2) == 4"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Int(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def add(a, b):
    return Int(0)
