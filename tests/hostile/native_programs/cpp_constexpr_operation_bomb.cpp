// attack: constexpr evaluation of 10^12 operations, each loop under the iteration limit
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: 'constexpr' evaluation operation count exceeds limit of 33554432 \(use '-fconstexpr-ops-limit=' to increase the limit\)
// compile-limits: {"cpu_ms": 15000, "wall_ms": 30000, "memory_bytes": 268435456}
constexpr long work() {
    long sum = 0;
    for (long i = 0; i < 200000; ++i)
        for (long j = 0; j < 200000; ++j)
            for (long k = 0; k < 25; ++k) sum += i ^ j ^ k;
    return sum;
}
constexpr long value = work();
int main() { return static_cast<int>(value & 1); }
