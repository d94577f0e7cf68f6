# attack: lowers the harness's (pid 1's) CPU limit with prlimit so that the kernel kills it
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# expect: RUNTIME_ERROR SANDBOX_ERROR
import resource

resource.prlimit(1, resource.RLIMIT_CPU, (0, 0))
