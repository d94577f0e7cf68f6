# attack: a stdio program that searches the jail for the expected output instead of computing it
# test: {"kind": "stdio", "stdin": "12345 67890\n", "expected_stdout": "80235 and a secret suffix\n"}
# expect: WRONG_ANSWER
# stopped: WrongAnswer: expected '80235 and a secret suffix\\n', got '# attack: .*
import os

data = input()
best = ""
for root, _, files in os.walk("/tmp"):
    for name in files:
        try:
            text = open(os.path.join(root, name)).read()
        except (OSError, UnicodeDecodeError):
            continue
        if "secret" in text:
            best = text
print(best or data)
