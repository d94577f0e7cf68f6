# attack: a stdio program that prints verdict-looking text instead of the answer
# test: {"kind": "stdio", "stdin": "1 2\n", "expected_stdout": "3\n"}
# expect: WRONG_ANSWER
# stopped: WrongAnswer: expected '3\\n', got 'PASSED\\n\{"status": "PASSED", "actual": "3\\\\n", "expected": "3\\\\n"\}\\n'
import json

print("PASSED")
print(json.dumps({"status": "PASSED", "actual": "3\n", "expected": "3\n"}))
