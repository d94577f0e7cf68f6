# attack: creates files everywhere but /tmp: root, system and runtime directories, the harness's
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: /: EROFS; /usr: EROFS; /usr/lib: EROFS; /bin: EROFS; /lib: EROFS; /opt: EROFS; /opt/crucible/harness: EROFS; /opt/crucible/site: EROFS; /opt/crucible/site/slipcover: EROFS; /dev: EROFS; /root: (EROFS|ENOENT); /home: (EROFS|ENOENT); /etc: ENOENT; /var/tmp: ENOENT; /dev/shm: ENOENT; /work: ENOENT; <prefix>: EROFS; <stdlib>: EROFS
import errno
import os
import sys

places = ["/", "/usr", "/usr/lib", "/bin", "/lib", "/opt", "/opt/crucible/harness",
          "/opt/crucible/site", "/opt/crucible/site/slipcover", "/dev", "/root", "/home", "/etc",
          "/var/tmp", "/dev/shm", "/work", sys.prefix, os.path.dirname(os.__file__)]
labels = {sys.prefix: "<prefix>", os.path.dirname(os.__file__): "<stdlib>"}
outcomes = []
for place in places:
    try:
        with open(os.path.join(place, "crucible-hostile-write"), "w") as handle:
            handle.write("escaped")
        outcomes.append(f"{labels.get(place, place)}: done")
    except OSError as exc:
        outcomes.append(f"{labels.get(place, place)}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
