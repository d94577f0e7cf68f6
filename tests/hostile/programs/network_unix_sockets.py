# attack: connects to host daemons through Unix sockets (docker, dbus, systemd; abstract and on disk)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: '/var/run/docker\.sock': ENOENT; '/run/docker\.sock': ENOENT; '/run/dbus/system_bus_socket': ENOENT; '/run/systemd/private': ENOENT; '/run/containerd/containerd\.sock': ENOENT; '\\x00/tmp/\.X11-unix/X0': ECONNREFUSED; '\\x00/org/freedesktop/systemd1/notify': ECONNREFUSED; '\\x00crucible': ECONNREFUSED
import errno
import socket

targets = [
    "/var/run/docker.sock", "/run/docker.sock", "/run/dbus/system_bus_socket",
    "/run/systemd/private", "/run/containerd/containerd.sock",
    "\0/tmp/.X11-unix/X0", "\0/org/freedesktop/systemd1/notify", "\0crucible",
]
outcomes = []
for target in targets:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(target)
            outcomes.append(f"{target!r}: done")
        except OSError as exc:
            outcomes.append(f"{target!r}: {errno.errorcode[exc.errno]}")
raise OSError("; ".join(outcomes))
