// attack: defines a procedural macro (code run by the compiler, as build scripts are) that opens a socket at compile time
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: the `#\[proc_macro\]` attribute is only usable with crates of the `proc-macro` crate type
extern crate proc_macro;
use proc_macro::TokenStream;

#[proc_macro]
pub fn phone_home(input: TokenStream) -> TokenStream {
    let _ = std::net::TcpStream::connect("1.1.1.1:443");
    let _ = std::fs::write("/tmp/crucible-hostile-proc-macro", "ran");
    input
}

fn main() { println!("escaped"); }
