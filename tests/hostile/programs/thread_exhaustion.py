# attack: starts sleeping threads until the pids limit refuses more
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: RuntimeError: can't start new thread
import threading
import time

while True:
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
