# attack: lowers the harness's (pid 1's) CPU limit with prlimit so that the kernel kills it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR
# stopped: PermissionError: \[Errno 1\] Operation not permitted
import resource

resource.prlimit(1, resource.RLIMIT_CPU, (0, 0))
