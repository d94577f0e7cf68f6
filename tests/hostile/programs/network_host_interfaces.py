# attack: looks for the host's network interfaces and opens a raw packet socket on them
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: interfaces: lo; AF_PACKET: EPERM
import errno
import socket

interfaces = ",".join(name for _, name in socket.if_nameindex())
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    raw = "done"
except OSError as exc:
    raw = errno.errorcode[exc.errno]
raise OSError(f"interfaces: {interfaces}; AF_PACKET: {raw}")
