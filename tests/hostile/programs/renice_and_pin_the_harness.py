# attack: lowers the harness's priority and scheduling class and pins it to one CPU
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: PermissionError: \[Errno 1\] Operation not permitted
import os

os.sched_setaffinity(1, {min(os.sched_getaffinity(1))})
os.setpriority(os.PRIO_PROCESS, 1, 19)
try:
    os.sched_setscheduler(1, os.SCHED_IDLE, os.sched_param(0))
except OSError:
    pass
