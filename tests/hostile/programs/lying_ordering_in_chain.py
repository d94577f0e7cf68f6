# attack: an object whose ordering operators always succeed, for chained range checks
# test: {"kind": "assert", "code": "assert 0.49 < half() < 0.51\nassert half() >= 0.5 and half() <= 0.5"}
# expect: RUNTIME_ERROR
# stopped: TypeError: test code does not trust '<' on \(float, Between\): objects the program made
class Between:
    def __lt__(self, other):
        return True

    __gt__ = __le__ = __ge__ = __lt__


def half():
    return Between()
