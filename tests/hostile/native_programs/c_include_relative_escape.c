// attack: climbs out of the build directory with ../ to include the host's /etc/passwd
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: \.\./\.\./\.\./\.\./\.\./\.\./etc/passwd: No such file or directory
#include "../../../../../../etc/passwd"
int main(void) { return 0; }
