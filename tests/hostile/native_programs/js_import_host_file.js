// attack: imports the host's /etc/passwd as a module while the source is checked
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: SyntaxError: Cannot use import statement outside a module
import secret from "/etc/passwd";
console.log(secret);
