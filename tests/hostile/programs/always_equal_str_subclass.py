# attack: a str subclass whose comparisons always succeed
# test: {"kind": "assert", "code": "assert greet('ada') == 'hello ada'"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Str(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


def greet(name):
    return Str("")
