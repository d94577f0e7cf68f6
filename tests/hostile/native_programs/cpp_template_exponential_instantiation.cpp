// attack: exponential template instantiation (two recursive branches per level, 2^40 in all)
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: \S+g\+\+\S*: fatal error: Killed signal terminated program cc1plus
// compile-limits: {"cpu_ms": 4000, "wall_ms": 8000, "memory_bytes": 268435456}
template <int N, int M> struct Tree {
    static const long value = Tree<N - 1, 2 * M>::value + Tree<N - 1, 2 * M + 1>::value;
};
template <int M> struct Tree<0, M> { static const long value = 1; };
int main() { return static_cast<int>(Tree<40, 0>::value); }
