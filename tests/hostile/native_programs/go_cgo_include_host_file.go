// attack: uses cgo to include the host's /etc/shadow through the C preprocessor
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: package command-line-arguments: build constraints exclude all Go files in /build
package main

// #include "/etc/shadow"
import "C"

func main() { println("escaped") }
