# attack: blocks forever in select() on nothing while a stdio test waits for its output
# test: {"kind": "stdio", "stdin": "1 2\n", "expected_stdout": "3\n"}
# expect: TIME_LIMIT_EXCEEDED
# stopped: TimeLimitExceeded: exceeded the wall-clock backstop of 2\.5 s
import select

select.select([], [], [])
