# attack: plants symlinks where the harness writes (solution.py, .stdin) hoping it writes through them
# test: {"kind": "assert", "code": "assert True"}
# test: {"kind": "stdio", "stdin": "x\n", "expected_stdout": "planted\n"}
# expect: WRONG_ANSWER
# stopped: WrongAnswer: expected 'planted\\n', got ''
import os

if os.path.exists("/tmp/planted-target") or os.path.exists("/tmp/planted-stdin"):
    print("planted")
else:
    for name, target in (("solution.py", "planted-target"), (".stdin", "planted-stdin")):
        try:
            os.unlink(f"/tmp/{name}")
        except OSError:
            pass
        os.symlink(f"/tmp/{target}", f"/tmp/{name}")
