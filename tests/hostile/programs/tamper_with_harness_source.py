# attack: rewrites, renames, deletes or chmods the harness's own source inside the jail
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

harness = "/opt/crucible/harness/python_harness.py"
changed = False
for attempt in (
    lambda: open(harness, "a").write("\nimport os; os._exit(0)\n"),
    lambda: os.rename(harness, "/opt/crucible/harness/crucible-hostile-moved"),
    lambda: os.unlink(harness),
    lambda: os.chmod(harness, 0o777),
    lambda: os.utime(harness, (0, 0)),
):
    try:
        attempt()
        changed = True
    except OSError:
        pass
if changed:

    def add(a, b):
        return a + b
