# attack: call tests receive an always-equal object, an int subclass and a generator instead of data
# test: {"kind": "call", "function": "anything", "args": [], "expected": 3}
# test: {"kind": "call", "function": "integer", "args": [], "expected": 3}
# test: {"kind": "call", "function": "lazy", "args": [], "expected": [3]}
# expect: WRONG_ANSWER
# stopped: WrongAnswer: expected '3', got '<not JSON data: a value of type Anything>'
class Anything:
    def __eq__(self, other):
        return True


class Int(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def anything():
    return Anything()


def integer():
    return Int(4)


def lazy():
    return (value for value in [3])
