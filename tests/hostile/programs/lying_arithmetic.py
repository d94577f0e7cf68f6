# attack: a float subclass whose subtraction and abs() lie, for HumanEval-style abs(x - y) < eps tests
# test: {"kind": "assert", "code": "assert abs(mean([1.0, 2.0, 3.0]) - 2.0) < 1e-6\nassert abs(mean([2.0]) - 2.0) < 1e-6"}
# expect: RUNTIME_ERROR
# stopped: TypeError: test code does not trust '-' on \(Num, float\): objects the program made
class Num(float):
    def __sub__(self, other):
        return Num(0.0)

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0


def mean(values):
    return Num(99.0)
