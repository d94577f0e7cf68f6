// attack: a macro that expands itself forever
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: recursion limit reached while expanding `again!`
macro_rules! again { () => { again!(); again!(); }; }
fn main() { again!(); }
