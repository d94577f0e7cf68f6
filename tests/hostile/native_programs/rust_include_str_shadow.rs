// attack: embeds the host's /etc/shadow with include_str! at compile time
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: couldn't read /etc/shadow: No such file or directory \(os error 2\)
const SECRET: &str = include_str!("/etc/shadow");
fn main() { println!("{}", SECRET); }
