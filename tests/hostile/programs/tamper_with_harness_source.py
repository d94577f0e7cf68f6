# attack: rewrites, renames, deletes or chmods the harness's own source inside the jail
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: append: EACCES; chmod: EROFS; rename: EROFS; unlink: EROFS; utime: EROFS
import errno
import os

outcomes = []
for harness in ("/opt/crucible/harness/python_harness.py", "/opt/crucible/harness/python_harness.pyc",
                "/opt/crucible/harness/seccomp_guard.pyc"):
    for name, attempt in (
        ("append", lambda: open(harness, "a").write("\nimport os; os._exit(0)\n")),
        ("rename", lambda: os.rename(harness, "/opt/crucible/harness/crucible-hostile-moved")),
        ("unlink", lambda: os.unlink(harness)),
        ("chmod", lambda: os.chmod(harness, 0o777)),
        ("utime", lambda: os.utime(harness, (0, 0))),
    ):
        try:
            attempt()
            outcomes.append(f"{name}: done")
        except OSError as exc:
            outcomes.append(f"{name}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(sorted(set(outcomes))))
