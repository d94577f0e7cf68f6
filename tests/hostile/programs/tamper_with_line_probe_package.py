# attack: plants code in the line-probe package (slipcover) that every later execution imports
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: __init__\.py: EACCES; crucible-hostile\.py: EROFS
import errno
import os

outcomes = []
for name in ("__init__.py", "crucible-hostile.py"):
    try:
        with open(os.path.join("/opt/crucible/site/slipcover", name), "a") as handle:
            handle.write("\nimport os\nos._exit(0)\n")
        outcomes.append(f"{name}: done")
    except OSError as exc:
        outcomes.append(f"{name}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
