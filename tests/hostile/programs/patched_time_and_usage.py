# attack: makes every clock and resource-usage call report zero, then computes forever
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the (CPU time limit of 1 s|wall-clock backstop of 2\.5 s)
import os
import resource
import time

for name in ("time", "monotonic", "perf_counter", "process_time", "thread_time"):
    setattr(time, name, lambda: 0.0)
resource.getrusage = lambda who: None
os.times = lambda: None
while True:
    pass
