# attack: a container that claims to contain everything
# test: {"kind": "assert", "code": "assert 7 in primes(10)\nassert 9 not in primes(10)"}
# expect: RUNTIME_ERROR
# stopped: TypeError: test code does not trust 'in' on \(int, Everything\): objects the program made
class Everything:
    def __contains__(self, item):
        return True


def primes(limit):
    return Everything()
