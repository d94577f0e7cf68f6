# attack: scans TCP ports of 127.0.0.1 for host services (sshd, databases, gRPC and HTTP servers)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: ECONNREFUSED: 2224 ports
import errno
import socket

results = {}
for port in [*range(1, 1025), *range(3000, 3400), *range(5000, 5500), *range(8000, 8200), *range(50000, 50100)]:
    with socket.socket() as probe:
        probe.settimeout(0.01)
        code = probe.connect_ex(("127.0.0.1", port))
        name = "connected" if code == 0 else errno.errorcode.get(code, str(code))
        results[name] = results.get(name, 0) + 1
raise OSError("; ".join(f"{name}: {count} ports" for name, count in sorted(results.items())))
