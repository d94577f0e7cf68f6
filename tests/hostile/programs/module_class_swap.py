# attack: swaps the class of the real math module for one whose attribute lookup lies
# test: {"kind": "assert", "code": "import math\nassert math.isclose(area(2.0), 12.566370614359172)"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import math
import types


class Lying(types.ModuleType):
    def __getattribute__(self, name):
        if name == "isclose":
            return lambda *args, **kwargs: True
        return super().__getattribute__(name)


math.__class__ = Lying


def area(radius):
    return 0.0
