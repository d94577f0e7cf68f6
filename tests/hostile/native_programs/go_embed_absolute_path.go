// attack: embeds the host's /etc/shadow with //go:embed
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: pattern /etc/shadow: invalid pattern syntax
package main

import _ "embed"

//go:embed /etc/shadow
var secret string

func main() { println(secret) }
