# attack: creates files everywhere but /tmp: root, system and runtime directories, the harness's
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import os
import sys

places = ["/", "/usr", "/usr/lib", "/bin", "/lib", "/opt", "/opt/crucible/harness",
          "/opt/crucible/site", "/opt/crucible/site/coverage", "/dev", "/root", "/home", "/etc",
          "/var/tmp", "/dev/shm", "/work", sys.prefix, os.path.dirname(os.__file__)]
written = []
for place in places:
    try:
        with open(os.path.join(place, "crucible-hostile-write"), "w") as handle:
            handle.write("escaped")
        written.append(place)
    except OSError:
        pass
if written:

    def add(a, b):
        return a + b
