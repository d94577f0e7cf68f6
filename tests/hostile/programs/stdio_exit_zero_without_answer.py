# attack: a stdio program that exits cleanly at once, printing nothing
# test: {"kind": "stdio", "stdin": "1 2\n", "expected_stdout": "3\n"}
# expect: WRONG_ANSWER
# stopped: WrongAnswer: expected '3\\n', got ''
import sys

sys.exit(0)
