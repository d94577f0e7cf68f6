// attack: floods the compiler's output with 65,536 errors to exhaust the server's memory or logs
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileOutputLimitExceeded: the compiler wrote more than 1048576 bytes of output
#define E1 int x = "not an int";
#define E2 E1 E1
#define E4 E2 E2
#define E8 E4 E4
#define E16 E8 E8
#define E32 E16 E16
#define E64 E32 E32
#define E128 E64 E64
#define E256 E128 E128
#define E512 E256 E256
#define E1K E512 E512
#define E2K E1K E1K
#define E4K E2K E2K
#define E8K E4K E4K
#define E16K E8K E8K
#define E32K E16K E16K
#define E64K E32K E32K
void f(void) { E64K }
int main(void) { return 0; }
