# attack: binds the global name math to a fake object, for tests that use math without importing it
# test: {"kind": "assert", "code": "assert math.isclose(area(2.0), 12.566370614359172)"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class FakeMath:
    pi = 3.0

    @staticmethod
    def isclose(*args, **kwargs):
        return True


math = FakeMath()


def area(radius):
    return 0.0
