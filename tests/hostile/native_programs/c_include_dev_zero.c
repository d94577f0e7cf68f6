// attack: includes /dev/zero, an endless file, so that the preprocessor never finishes
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: \S+gcc\S*: fatal error: Killed signal terminated program cc1
// compile-limits: {"cpu_ms": 4000, "wall_ms": 8000, "memory_bytes": 268435456}
#include "/dev/zero"
int main(void) { return 0; }
