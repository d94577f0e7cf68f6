# attack: defines abs, round, sorted and print as module globals, which test code shares
# test: {"kind": "assert", "code": "assert abs(add(1, 2) - 3) < 1e-9\nassert round(add(1, 2)) == 3\nassert sorted([add(1, 2)]) == [3]"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
def abs(value):  # noqa: A001
    return 0


def round(value, digits=0):  # noqa: A001
    return 3


def sorted(value):  # noqa: A001
    return [3]


def add(a, b):
    return 7
