# attack: an always-equal class named int, claiming module builtins, with a metaclass that lies about its name
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Meta(type):
    @property
    def __module__(cls):
        return "builtins"


class int(metaclass=Meta):  # noqa: A001
    __qualname__ = "int"

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def add(a, b):
    return int()
