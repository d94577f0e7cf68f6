// attack: a type whose size doubles at every level, 2^64 bytes in all, forcing huge layout work
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileTimeLimitExceeded: the compiler exceeded its limit of 3 s
// compile-limits: {"cpu_ms": 3000, "wall_ms": 20000}
type A0 = [u8; 1 << 32];
type A1 = (A0, A0);
type A2 = (A1, A1);
type A3 = (A2, A2);
type A4 = (A3, A3);
type A5 = (A4, A4);
type A6 = (A5, A5);
type A7 = (A6, A6);
type A8 = (A7, A7);
type A9 = (A8, A8);
type A10 = (A9, A9);
type A11 = (A10, A10);
type A12 = (A11, A11);
type A13 = (A12, A12);
type A14 = (A13, A13);
type A15 = (A14, A14);
type A16 = (A15, A15);
type A17 = (A16, A16);
type A18 = (A17, A17);
type A19 = (A18, A18);
type A20 = (A19, A19);
type A21 = (A20, A20);
type A22 = (A21, A21);
type A23 = (A22, A22);
type A24 = (A23, A23);
type A25 = (A24, A24);
type A26 = (A25, A25);
type A27 = (A26, A26);
type A28 = (A27, A27);
type A29 = (A28, A28);
type A30 = (A29, A29);
type A31 = (A30, A30);
type A32 = (A31, A31);
fn main() { println!("{}", std::mem::size_of::<A32>()); }
