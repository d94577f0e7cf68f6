# attack: looks for a call test's expected value in files, environment, argv, stdin and inherited descriptors
# test: {"kind": "call", "function": "secret", "args": [], "expected": 73952841}
# expect: WRONG_ANSWER
# stopped: WrongAnswer: expected '73952841', got '20250110'
import os
import re
import sys

found = []
texts = [" ".join(sys.argv), " ".join(f"{k}={v}" for k, v in os.environ.items())]
for root, dirs, files in os.walk("/"):
    if root.startswith(("/usr", "/lib", "/bin", sys.prefix)):
        dirs[:] = []
        continue
    for name in files:
        try:
            with open(os.path.join(root, name), "rb") as handle:
                texts.append(handle.read(1 << 20).decode("latin-1"))
        except OSError:
            pass
for fd in range(0, 64):
    try:
        os.set_blocking(fd, False)
        texts.append(os.read(fd, 1 << 16).decode("latin-1"))
    except OSError:
        pass
for text in texts:
    found += re.findall(r"\b\d{8}\b", text)


def secret():
    return int(found[0]) if found else 0
