# attack: patches builtins.all inside the function the test calls (after the test's builtins and modules were restored), so that collections.Counter.__eq__, which calls all, says equal
# test: {"kind": "assert", "code": "from collections import Counter\nassert counts('aab') == Counter('xyz')"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import builtins
from collections import Counter


def counts(text):
    builtins.all = lambda *args: True
    return Counter(text)
