# attack: looks for the host's network interfaces and opens a raw packet socket on them
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import socket

visible = [name for _, name in socket.if_nameindex() if name != "lo"]
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    raw = True
except OSError:
    raw = False
if visible or raw:

    def add(a, b):
        return a + b
