# attack: lowers only the harness's soft limits (file size, descriptors, address space)
# test: {"kind": "assert", "code": "assert add(1, 2) == 3"}
# test: {"kind": "assert", "code": "assert add(2, 2) == 4"}
# expect: RUNTIME_ERROR
# stopped: PermissionError: \[Errno 1\] Operation not permitted
import resource

for limit, value in ((resource.RLIMIT_NOFILE, 5), (resource.RLIMIT_FSIZE, 1), (resource.RLIMIT_AS, 1 << 20)):
    _, hard = resource.prlimit(1, limit)
    resource.prlimit(1, limit, (value, hard))
