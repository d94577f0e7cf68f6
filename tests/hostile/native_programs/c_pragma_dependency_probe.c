// attack: asks the preprocessor to compare the source with a host file (#pragma GCC dependency)
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: cc1: fatal error: /etc/shadow: No such file or directory
#pragma GCC dependency "/etc/shadow"
int main(void) { return 0; }
