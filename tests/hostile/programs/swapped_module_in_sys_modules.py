# attack: replaces math in sys.modules with a fake module, so that the test's `import math` gets it
# test: {"kind": "assert", "code": "import math\nassert math.isclose(area(2.0), 12.566370614359172)"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import sys
import types

fake = types.ModuleType("math")
fake.isclose = lambda *args, **kwargs: True
sys.modules["math"] = fake


def area(radius):
    return 0.0
