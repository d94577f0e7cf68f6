# attack: __str__ returns an always-equal str subclass, for tests that compare str(result)
# test: {"kind": "assert", "code": "assert str(answer()) == '42'"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Str(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class Answer:
    def __str__(self):
        return Str("nope")


def answer():
    return Answer()
