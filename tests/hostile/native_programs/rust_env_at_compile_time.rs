// attack: reads the server's environment (cloud credentials) at compile time with env!
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: environment variable `AWS_SECRET_ACCESS_KEY` not defined
const KEY: &str = env!("AWS_SECRET_ACCESS_KEY");
fn main() { println!("{}", KEY); }
