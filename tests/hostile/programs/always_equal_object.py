# attack: returns an object whose __eq__ is always true (and __ne__ always false)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3\nassert not (add(1, 2) != 3)\nassert 3 == add(1, 2)"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def add(a, b):
    return Anything()
