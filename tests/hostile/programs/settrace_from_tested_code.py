# attack: the tested function installs a global trace function that rewrites the test's later return values
# test: {"kind": "assert", "code": "setup()\nassert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import sys


def tracer(frame, event, arg):
    if frame.f_code.co_name == "add":
        frame.f_trace_lines = False

        def on_return(frame, event, arg):
            return on_return

        return on_return
    return None


def setup():
    sys.settrace(tracer)
    sys.setprofile(lambda frame, event, arg: None)


def add(a, b):
    return 0
