// attack: enables unstable compiler features (which the coverage build's RUSTC_BOOTSTRAP allows) in the candidate
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: E0554: `#!\[feature\]` may not be used on the stable release channel
#![feature(core_intrinsics)]
fn main() { println!("escaped"); }
