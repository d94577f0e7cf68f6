# attack: many threads each allocating memory at once
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: MEMORY_LIMIT_EXCEEDED
# stopped: MemoryError: exceeded the memory limit of 128 MiB
import threading

hoard = []


def grab():
    while True:
        hoard.append(b"y" * (1 << 20))


threads = [threading.Thread(target=grab) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
