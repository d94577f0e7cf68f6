# attack: sends every signal number to pid 1 from a forked child, twice
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: sent signals 1-64 to pid 1 twice \(sender exit 0\), which still answers
import os
import signal

if os.fork() == 0:
    for _ in range(2):
        for number in range(1, signal.NSIG):
            try:
                os.kill(1, number)
            except OSError:
                pass
    os._exit(0)
_, status = os.wait()
raise RuntimeError(f"sent signals 1-{signal.NSIG - 1} to pid 1 twice (sender exit {os.waitstatus_to_exitcode(status)}), which still answers")
