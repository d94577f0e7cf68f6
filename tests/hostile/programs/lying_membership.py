# attack: a container that claims to contain everything
# test: {"kind": "assert", "code": "assert 7 in primes(10)\nassert 9 not in primes(10)"}
# expect: RUNTIME_ERROR
class Everything:
    def __contains__(self, item):
        return True


def primes(limit):
    return Everything()
