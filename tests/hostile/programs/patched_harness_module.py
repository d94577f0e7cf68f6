# attack: finds the harness module (__main__, sys.modules) and replaces its comparison and reporting functions
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import sys

always = lambda *args, **kwargs: True  # noqa: E731
for module in list(sys.modules.values()):
    namespace = getattr(module, "__dict__", {})
    for name in list(namespace):
        if name.startswith("_strict") or name in ("_safe_eq", "_reach", "_cleared", "_exception_record"):
            namespace[name] = always
        if name in ("_child_record", "_describe"):
            namespace[name] = lambda *args, **kwargs: {"outcome": "ok"}
import __main__  # noqa: E402

__main__.__crucible_compare__ = always


def add(a, b):
    return 0
