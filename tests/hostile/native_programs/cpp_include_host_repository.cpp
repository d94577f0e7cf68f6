// attack: includes files of the host's repository checkout and home directory at compile time
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: /work/main/README\.md: No such file or directory
#include "/work/main/README.md"
#include "/home/ubuntu/.bash_history"
int main() { return 0; }
