// attack: embeds the host's /etc/passwd with include_bytes! through ../ out of the build directory
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: couldn't read \.\./\.\./\.\./\.\./\.\./\.\./etc/passwd: No such file or directory \(os error 2\)
const SECRET: &[u8] = include_bytes!("../../../../../../etc/passwd");
fn main() { println!("{}", SECRET.len()); }
