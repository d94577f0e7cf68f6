// attack: includes root's SSH key with angle brackets, searched along the system include path
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: /root/\.ssh/id_rsa: No such file or directory
#include </root/.ssh/id_rsa>
int main() { return 0; }
