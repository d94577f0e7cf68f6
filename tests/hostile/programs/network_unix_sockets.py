# attack: connects to host daemons through Unix sockets (docker, dbus, systemd; abstract and on disk)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
import socket

targets = [
    "/var/run/docker.sock", "/run/docker.sock", "/run/dbus/system_bus_socket",
    "/run/systemd/private", "/run/containerd/containerd.sock",
    "\0/tmp/.X11-unix/X0", "\0/org/freedesktop/systemd1/notify", "\0crucible",
]
connected = False
for target in targets:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(target)
            connected = True
        except OSError:
            pass
if connected:

    def add(a, b):
        return a + b
