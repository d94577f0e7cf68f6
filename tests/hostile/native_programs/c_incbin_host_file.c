// attack: embeds a host file into the binary with the assembler's .incbin
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: AssemblerError: file not found: /etc/shadow
#include <stdio.h>
__asm__(".section .rodata\n.global secret\nsecret:\n.incbin \"/etc/shadow\"\n.byte 0\n.text\n");
extern const char secret[];
int main(void) { puts(secret); return 0; }
