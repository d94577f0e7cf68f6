# attack: installs a trace function at import that jumps over every line of the test code
# test: {"kind": "assert", "code": "assert add(1, 2) == 3\nassert add(2, 2) == 4"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import sys


def tracer(frame, event, arg):
    if frame.f_code.co_filename.startswith("<test"):
        frame.f_trace_lines = True

        def skip(frame, event, arg):
            if event == "line":
                try:
                    frame.f_lineno = frame.f_lineno + 1
                except ValueError:
                    pass
            return skip

        return skip
    return None


sys.settrace(tracer)


def add(a, b):
    return 0
