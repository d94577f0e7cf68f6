# attack: returns a class whose metaclass makes it equal to anything (type() of it is not the program's class)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Meta(type):
    def __eq__(cls, other):
        return True

    __hash__ = type.__hash__


class Result(metaclass=Meta):
    pass


def add(a, b):
    return Result
