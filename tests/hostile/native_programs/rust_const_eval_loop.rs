// attack: a constant whose evaluation never ends
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: const_err: any use of this value will cause an error
const FOREVER: u64 = {
    let mut i: u64 = 0;
    loop {
        i = i.wrapping_add(1);
    }
};
fn main() { println!("{}", FOREVER); }
