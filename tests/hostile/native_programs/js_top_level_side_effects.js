// attack: top-level code that writes to the host and spins, hoping the compile step runs it with the compile jail's generous limits
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: TIME_LIMIT_EXCEEDED
// stopped: TimeLimitExceeded: exceeded the (CPU time limit of 1 s|wall-clock backstop of 2\.5 s)
const fs = require("fs");
try { fs.writeFileSync("/tmp/crucible-hostile-js", "ran at compile time"); } catch (e) {}
try { fs.writeFileSync("/build/crucible-hostile-js", "ran at compile time"); } catch (e) {}
for (;;) {}
