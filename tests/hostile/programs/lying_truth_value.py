# attack: objects whose truth value flips on each use, to pass both `assert f(x)` and `assert not f(y)`
# test: {"kind": "assert", "code": "assert not is_prime(4)\nassert is_prime(5)"}
# expect: RUNTIME_ERROR
# stopped: TypeError: test code does not trust a truth test on \(Flip\): objects the program made
class Flip:
    calls = 0

    def __bool__(self):
        Flip.calls += 1
        return Flip.calls % 2 == 0


def is_prime(n):
    return Flip()
