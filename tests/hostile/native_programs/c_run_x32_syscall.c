// attack: at run time, lowers the supervisor's CPU limit with prlimit64 through the x32 ABI, past a filter that checks x86-64 numbers only
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: RUNTIME_ERROR
// stopped: SIGSYS: killed by SIGSYS
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    uint64_t none[2] = {0, 0};
    long result = syscall(0x40000000 | 302, 1, 0, none, 0);
    printf("x32 prlimit64 returned %ld\n", result);
    return 0;
}
