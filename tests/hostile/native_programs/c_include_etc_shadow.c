// attack: includes the host's /etc/shadow into the program at compile time
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: /etc/shadow: No such file or directory
#include "/etc/shadow"
int main(void) { return 0; }
