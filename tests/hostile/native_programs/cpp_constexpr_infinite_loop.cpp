// attack: a constexpr function that never returns, evaluated at compile time
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: 'constexpr' loop iteration count exceeds limit of 262144 \(use '-fconstexpr-loop-limit=' to increase the limit\)
constexpr int forever() {
    int i = 0;
    while (true) { ++i; }
    return i;
}
constexpr int value = forever();
int main() { return value; }
