// attack: probes with __has_include which host files (SSH keys, shadow, the repository) the compiler sees
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: #error "no host file is visible to the compiler"
#if __has_include("/etc/shadow") || __has_include("/root/.ssh/id_rsa") || __has_include("/work/main/README.md") || __has_include("/home")
#include <stdio.h>
int main(void) { puts("escaped"); return 0; }
#else
#error "no host file is visible to the compiler"
#endif
