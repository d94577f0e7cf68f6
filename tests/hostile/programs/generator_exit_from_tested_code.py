# attack: raises GeneratorExit and a BaseException subclass inside the test
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# test: {"kind": "assert", "code": "assert sub(3, 2) == 1"}
# expect: RUNTIME_ERROR
# stopped: GeneratorExit:
class Escape(BaseException):
    pass


def add(a, b):
    raise GeneratorExit


def sub(a, b):
    raise Escape
