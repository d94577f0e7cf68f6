// attack: template errors with ever longer type names, to flood the compiler's output
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileOutputLimitExceeded: the compiler wrote more than 1048576 bytes of output
template <class T> struct W { typedef typename T::missing type; };
template <class T> struct P { typedef W<P<P<P<P<P<P<P<P<T>>>>>>>>> type; };
#define L1(n) int f##n() { return typename W<P<P<P<P<P<P<P<P<P<P<int>>>>>>>>>>>::type(); }
#define L2(n) L1(n##0) L1(n##1) L1(n##2) L1(n##3) L1(n##4) L1(n##5) L1(n##6) L1(n##7) L1(n##8) L1(n##9)
#define L3(n) L2(n##0) L2(n##1) L2(n##2) L2(n##3) L2(n##4) L2(n##5) L2(n##6) L2(n##7) L2(n##8) L2(n##9)
#define L4(n) L3(n##0) L3(n##1) L3(n##2) L3(n##3) L3(n##4) L3(n##5) L3(n##6) L3(n##7) L3(n##8) L3(n##9)
L4(x)
int main() { return 0; }
