# attack: raises KeyboardInterrupt inside the test, which `except Exception` harnesses miss
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: KeyboardInterrupt:
def add(a, b):
    raise KeyboardInterrupt
