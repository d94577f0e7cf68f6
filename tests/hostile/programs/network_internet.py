# attack: reaches the internet over TCP, UDP and DNS
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: tcp 1\.1\.1\.1: ENETUNREACH; tcp 8\.8\.8\.8: ENETUNREACH; tcp 140\.82\.112\.3: ENETUNREACH; dns: Temporary failure in name resolution; udp: ENETUNREACH
import errno
import socket

outcomes = []
for host in ("1.1.1.1", "8.8.8.8", "140.82.112.3"):
    try:
        socket.create_connection((host, 443), timeout=0.3).close()
        outcomes.append(f"tcp {host}: done")
    except OSError as exc:
        outcomes.append(f"tcp {host}: {errno.errorcode.get(exc.errno, exc.errno)}")
try:
    socket.getaddrinfo("example.com", 80)
    outcomes.append("dns: done")
except socket.gaierror as exc:
    outcomes.append(f"dns: {exc.strerror}")
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"\x00", ("8.8.8.8", 53))
        outcomes.append("udp: done")
except OSError as exc:
    outcomes.append(f"udp: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
