# attack: lowers the harness's descriptor limit (soft and hard) so that it cannot start the next test
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# test: {"kind": "assert", "code": "assert add(2, 2) == 4"}
# expect: RUNTIME_ERROR
# stopped: PermissionError: \[Errno 1\] Operation not permitted
import resource

resource.prlimit(1, resource.RLIMIT_NOFILE, (4, 4))
resource.prlimit(1, resource.RLIMIT_NPROC, (1, 1))
