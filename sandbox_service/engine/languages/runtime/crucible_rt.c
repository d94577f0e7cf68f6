/* Linked into every C, C++ and Rust program the sandbox builds (compiled as C).
 *
 * On a fatal signal it writes one line to stderr,
 *     @@crucible-fault <signal> <stack-overflow 0|1> <pc> <return addresses...>
 * with addresses relative to the executable's load address, then dies of the same signal, so
 * the exit status is unchanged. The supervisor resolves the addresses to source lines with
 * addr2line inside the jail; the first frame in the candidate's file is the failing line. It
 * runs on an alternate stack so that stack overflows are reported too. */
#define _GNU_SOURCE
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

extern char __executable_start;
#ifdef CRUCIBLE_COVERAGE
/* libgcov's: writes the coverage counts that dying of a signal would lose. */
extern void __gcov_dump(void);
#endif
#ifdef CRUCIBLE_LLVM_COVERAGE
/* LLVM's profile runtime (Rust coverage builds): writes the counters its atexit hook would. */
extern int __llvm_profile_write_file(void);
#endif

static char crucible_altstack[1 << 16];

static size_t crucible_append(char *out, size_t used, size_t size, const char *text) {
    while (*text && used + 1 < size) out[used++] = *text++;
    return used;
}

static size_t crucible_append_hex(char *out, size_t used, size_t size, uintptr_t value) {
    char digits[2 + 2 * sizeof value + 1];
    int at = (int)sizeof digits - 1;
    digits[at] = '\0';
    do {
        digits[--at] = "0123456789abcdef"[value & 15u];
        value >>= 4;
    } while (value && at > 2);
    digits[--at] = 'x';
    digits[--at] = '0';
    used = crucible_append(out, used, size, " ");
    return crucible_append(out, used, size, digits + at);
}

static void crucible_fault(int sig, siginfo_t *info, void *context) {
    static char line[4096];
    void *frames[64];
    const ucontext_t *uc = (const ucontext_t *)context;
    uintptr_t base = (uintptr_t)&__executable_start;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t addr = (uintptr_t)info->si_addr;
    int overflow = sig == SIGSEGV && addr + 65536 > sp && addr < sp + 65536;
    int count = backtrace(frames, 64);
    size_t used = crucible_append(line, 0, sizeof line, "\n@@crucible-fault ");
    used = crucible_append(line, used, sizeof line, sig == SIGSEGV ? "SIGSEGV"
                           : sig == SIGBUS ? "SIGBUS" : sig == SIGFPE ? "SIGFPE"
                           : sig == SIGILL ? "SIGILL" : "SIGABRT");
    used = crucible_append(line, used, sizeof line, overflow ? " 1" : " 0");
    used = crucible_append_hex(line, used, sizeof line, pc - base);
    for (int i = 0; i < count; i++) {
        uintptr_t frame = (uintptr_t)frames[i];
        if (frame != pc) used = crucible_append_hex(line, used, sizeof line, frame - 1 - base);
    }
    used = crucible_append(line, used, sizeof line, "\n");
    (void)!write(2, line, used);
#ifdef CRUCIBLE_COVERAGE
    __gcov_dump();
#endif
#ifdef CRUCIBLE_LLVM_COVERAGE
    (void)__llvm_profile_write_file();
#endif
    signal(sig, SIG_DFL);
    raise(sig);
}

__attribute__((constructor)) static void crucible_install(void) {
    void *warm[2];
    stack_t stack;
    struct sigaction action;
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    backtrace(warm, 2); /* loads libgcc_s now: its first use is not async-signal-safe */
    memset(&stack, 0, sizeof stack);
    stack.ss_sp = crucible_altstack;
    stack.ss_size = sizeof crucible_altstack;
    sigaltstack(&stack, NULL);
    memset(&action, 0, sizeof action);
    action.sa_sigaction = crucible_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &action, NULL);
}
