# attack: calls kernel-facing system calls: bpf, perf_event_open, keyctl, userfaultfd, kexec, modules
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: OSError: bpf: EPERM; perf_event_open: EPERM; keyctl: EPERM; add_key: EPERM; userfaultfd: EPERM; kexec_load: EPERM; init_module: EPERM; reboot: EPERM
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
calls = {"bpf": (321, 0, 0, 0), "perf_event_open": (298, 0, 0, -1, -1, 0), "keyctl": (250, 0, 0),
         "add_key": (248, 0, 0, 0, 0, 0), "userfaultfd": (323, 0), "kexec_load": (246, 0, 0, 0, 0),
         "init_module": (175, 0, 0, 0), "reboot": (169, 0, 0, 0, 0)}
outcomes = []
for name, (number, *args) in calls.items():
    done = libc.syscall(number, *args) >= 0
    outcomes.append(f"{name}: {'done' if done else errno.errorcode[ctypes.get_errno()]}")
raise OSError("; ".join(outcomes))
