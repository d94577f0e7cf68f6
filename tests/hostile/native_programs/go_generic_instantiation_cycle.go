// attack: a generic type that instantiates itself with ever larger type arguments
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: instantiation cycle:
package main

type Grow[T any] struct{ next *Grow[[2]T] }

func main() {
	var g Grow[int]
	println(g.next == nil)
}
