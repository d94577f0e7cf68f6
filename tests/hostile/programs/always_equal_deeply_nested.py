# attack: an always-equal object buried deep in nested lists, dicts and tuples
# test: {"kind": "assert", "code": "assert tree() == [[{'k': (1, [2, {'z': 3}])}]]"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
class Anything:
    def __eq__(self, other):
        return True


def tree():
    return [[{"k": (1, [2, {"z": Anything()}])}]]
