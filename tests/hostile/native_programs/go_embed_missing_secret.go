// attack: embeds a credentials file expected beside the source (a build directory shared with other requests)
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: COMPILE_ERROR
// stopped: CompileError: pattern credentials\.json: no matching files found
package main

import _ "embed"

//go:embed credentials.json
var secret string

func main() { println(secret) }
