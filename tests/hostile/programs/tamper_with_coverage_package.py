# attack: plants code in the coverage package that every later execution imports
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

planted = False
for name in ("__init__.py", "crucible-hostile.py"):
    try:
        with open(os.path.join("/opt/crucible/site/coverage", name), "a") as handle:
            handle.write("\nimport os\nos._exit(0)\n")
        planted = True
    except OSError:
        pass
if planted:

    def add(a, b):
        return a + b
