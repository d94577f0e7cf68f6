# attack: reaches the internet over TCP, UDP and DNS
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import socket

reached = False
for host in ("1.1.1.1", "8.8.8.8", "140.82.112.3"):
    try:
        socket.create_connection((host, 443), timeout=0.3).close()
        reached = True
    except OSError:
        pass
try:
    socket.getaddrinfo("example.com", 80)
    reached = True
except OSError:
    pass
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"\x00", ("8.8.8.8", 53))
        reached = True
except OSError:
    pass
if reached:

    def add(a, b):
        return a + b
