# attack: the first test changes module state, builtins and signal handlers that a later test relies on
# test: {"kind": "assert", "code": "import builtins\nbuiltins.crucible_seen = True\nassert True"}
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import builtins
import signal
import sys

if getattr(builtins, "crucible_seen", False) or getattr(sys, "crucible_seen", False) or signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL:

    def add(a, b):
        return a + b

sys.crucible_seen = True
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
