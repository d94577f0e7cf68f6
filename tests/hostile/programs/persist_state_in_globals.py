# attack: the first test changes module state, builtins and signal handlers that a later test relies on
# test: {"kind": "assert", "code": "import builtins\nbuiltins.crucible_seen = True\nassert True"}
# test: {"kind": "assert", "code": "assert STATE == 'seen', STATE"}
# expect: WRONG_ANSWER
# stopped: AssertionError: absent
import builtins
import signal
import sys

STATE = ",".join(
    name
    for name, seen in (
        ("builtins", getattr(builtins, "crucible_seen", False)),
        ("sys", getattr(sys, "crucible_seen", False)),
        ("signal", signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL),
    )
    if seen
) or "absent"
sys.crucible_seen = True
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
