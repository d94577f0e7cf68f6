# attack: rebinds all in the collections module's own globals inside the function the test calls, so that Counter.__eq__ (a method of that module) says equal to a Counter the test builds
# test: {"kind": "assert", "code": "assert counts('aab') == Counter('xyz')"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import collections
from collections import Counter


def counts(text):
    vars(collections)["all"] = lambda *args: True
    return Counter(text)
