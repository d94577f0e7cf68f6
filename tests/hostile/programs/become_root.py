# attack: setuid(0), setgid(0), setgroups and capabilities to become root in the jail
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os

rooted = False
for attempt in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setgroups([0]), lambda: os.setresuid(0, 0, 0)):
    try:
        attempt()
        rooted = True
    except OSError:
        pass
if rooted or os.geteuid() == 0:

    def add(a, b):
        return a + b
