// attack: embeds files above the build directory with //go:embed ../
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: pattern \.\./\*: invalid pattern syntax
package main

import "embed"

//go:embed ../*
var above embed.FS

func main() { println(above) }
