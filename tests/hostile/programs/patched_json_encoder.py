# attack: patches json so that any record the harness serialises says "ok", then fails the test
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: WRONG_ANSWER
# stopped: AssertionError:
import json
import json.encoder

ok = '{"outcome": "ok"}'
json.dumps = lambda *args, **kwargs: ok
json.encoder.JSONEncoder.encode = lambda self, value: ok
json.encoder.JSONEncoder.iterencode = lambda self, value, _one_shot=False: iter([ok])
json._default_encoder = json.encoder.JSONEncoder()


def add(a, b):
    return 0
