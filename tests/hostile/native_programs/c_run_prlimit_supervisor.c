// attack: at run time, lowers the supervisor's (pid 1's) CPU and file limits with prlimit so that it dies or cannot report
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: WRONG_ANSWER
// stopped: WrongAnswer: expected 'escaped\\n', got 'RLIMIT_CPU: Operation not permitted; RLIMIT_NOFILE: Operation not permitted\\n'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int main(void) {
    struct rlimit none = {0, 0};
    int cpu = prlimit(1, RLIMIT_CPU, &none, NULL) == 0 ? 0 : errno;
    int files = prlimit(1, RLIMIT_NOFILE, &none, NULL) == 0 ? 0 : errno;
    printf("RLIMIT_CPU: %s; RLIMIT_NOFILE: %s\n", cpu ? strerror(cpu) : "done", files ? strerror(files) : "done");
    return 0;
}
