# attack: ignores SIGPROF and SIGXCPU, cancels the CPU timer and raises its soft CPU rlimit, then loops
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the (CPU time limit of 1 s|wall-clock backstop of 2\.5 s)
import resource
import signal

for number in (signal.SIGPROF, signal.SIGXCPU, signal.SIGALRM, signal.SIGVTALRM):
    signal.signal(number, signal.SIG_IGN)
signal.setitimer(signal.ITIMER_PROF, 0)
_, hard = resource.getrlimit(resource.RLIMIT_CPU)
resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
while True:
    pass
