// attack: unbounded template recursion to keep the compiler instantiating forever
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: template instantiation depth exceeds maximum of 900 \(use '-ftemplate-depth=' to increase the maximum\)
template <int N> struct Deep { static const int value = Deep<N + 1>::value; };
int main() { return Deep<0>::value; }
