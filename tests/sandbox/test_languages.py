"""C, C++, Go, Java, JavaScript and Rust through the real engine and real nsjail.

For every language: a correct program (stdio and assert tests, call tests where offered), a
wrong one (a wrong answer, a failed assertion and a runtime error with its type and line,
prelude lines subtracted), a compile error with its line and subtype, and a hostile one whose
tests loop, bomb memory, fork, connect to the network, write outside /tmp and recurse without
end. Each language's requests run concurrently on a two-worker engine: one compile per program.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from crucible.sandbox_service.engine import Engine, EngineConfig, RequestRejected
from crucible.sandbox_service.engine.languages.artifacts import default_root
from crucible.sandbox_service.engine.languages.samples import ADD_PROGRAMS
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    Status,
    StdioTest,
    Subtype,
)
from crucible.sandbox_service.models import TestCase as Case

# Loops get a short CPU limit; a fork bomb shares the CPU among its processes, so the
# wall-clock backstop ends it. The other hostile tests keep the default time limits, so that a
# memory bomb under a loaded host meets the memory limit before any time limit.
TIME_LIMITS = Limits(cpu_time_limit_ms=1000, wall_time_limit_ms=3000)
MEMORY_LIMITS = Limits(memory_limit_bytes=128 << 20)
TIME_MODES = ("loop", "fork")
OTHER_MODES = ("mem", "net", "write", "recurse")
# What the network and file-system tests would print had they succeeded.
SUCCESS = {"net": "connected\n", "write": "written\n"}


def line_of(source: str, marker: str) -> int:
    """1-based line of ``source`` holding ``marker``."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if marker in line)


@dataclass(frozen=True)
class Programs:
    good: str
    assert_pass: str
    wrong: str
    wrong_prelude: str
    runtime_type: str
    compile_error: str
    compile_line: int
    compile_subtype: Subtype
    hostile: str
    recurse_status: Status = Status.RUNTIME_ERROR
    call_tests: list[Case] = field(default_factory=list)


# The wrong C program divides by zero (UBSan), the C++ one writes through a wild pointer
# (SIGSEGV, resolved by the fault handler).
C_WRONG = """int add(int a, int b) {
    if (a == 0) return b / a; /* RE */
    return a + b + 1;
}

int main(void) {
    int a, b;
    if (scanf("%d %d", &a, &b) != 2) return 1;
    printf("%d\\n", add(a, b));
    return 0;
}
"""
C_HOSTILE = """#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int depth(int n) {
    volatile char pad[64];
    pad[0] = (char)n;
    return depth(n + 1) + pad[0]; /* RECURSE */
}

int main(void) {
    char mode[16] = "";
    if (scanf("%15s", mode) != 1) return 1;
    if (!strcmp(mode, "loop")) { volatile unsigned long x = 0; for (;;) x++; }
    if (!strcmp(mode, "mem")) {
        for (;;) { char *p = (char *)malloc(1 << 20); if (!p) return 3; memset(p, 1, 1 << 20); }
    }
    if (!strcmp(mode, "fork")) { for (;;) fork(); }
    if (!strcmp(mode, "net")) {
        struct sockaddr_in addr;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_port = htons(80);
        addr.sin_addr.s_addr = inet_addr("1.1.1.1");
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 4;
        puts("connected");
        return 0;
    }
    if (!strcmp(mode, "write")) {
        FILE *f = fopen("/build/pwned", "w");
        if (!f) return 5;
        fputs("x", f);
        fclose(f);
        puts("written");
        return 0;
    }
    if (!strcmp(mode, "recurse")) return depth(0);
    return 0;
}
"""

CPP_WRONG = """int add(int a, int b) {
    if (a == 0) *(volatile int *)16 = b; // RE
    return a + b + 1;
}

int main() {
    int a, b;
    std::cin >> a >> b;
    std::cout << add(a, b) << "\\n";
}
"""

JAVA_WRONG = """public class Main {
    static int add(int a, int b) {
        if (a == 0) return b / a; // RE
        return a + b + 1;
    }

    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int a = in.nextInt(), b = in.nextInt();
        System.out.println(add(a, b));
    }
}
"""
JAVA_HOSTILE = """import java.io.FileWriter;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Scanner;

public class Main {
    static int depth(int n) { return depth(n + 1) + 1; } // RECURSE

    public static void main(String[] args) throws Exception {
        String mode = new Scanner(System.in).next();
        if (mode.equals("loop")) { long x = 0; while (true) x++; }
        if (mode.equals("mem")) {
            List<long[]> keep = new ArrayList<>();
            while (true) keep.add(new long[1 << 17]);
        }
        if (mode.equals("fork")) {
            while (true) new ProcessBuilder("/bin/sh", "-c", "while :; do :; done").start();
        }
        if (mode.equals("net")) {
            new Socket("1.1.1.1", 80).close();
            System.out.println("connected");
        }
        if (mode.equals("write")) {
            new FileWriter("/build/pwned").close();
            System.out.println("written");
        }
        if (mode.equals("recurse")) System.out.println(depth(0));
    }
}
"""

JS_WRONG = """function add(a, b) {
  if (a === 0) return b.missing.field; // RE
  return a + b + 1;
}

const input = require('fs').readFileSync(0, 'utf8').trim();
if (/^-?\\d+ -?\\d+$/.test(input)) {
  const [a, b] = input.split(' ').map(Number);
  console.log(add(a, b));
}
"""
JS_HOSTILE = """const mode = require('fs').readFileSync(0, 'utf8').trim();
function depth(n) { return depth(n + 1) + 1; } // RECURSE
if (mode === 'loop') { for (;;) {} }
if (mode === 'mem') { const keep = []; for (;;) keep.push(new Array(1 << 16).fill(7)); }
if (mode === 'fork') {
  const { spawn } = require('child_process');
  for (;;) spawn('/bin/sh', ['-c', 'while :; do :; done']);
}
if (mode === 'net') require('net').connect(80, '1.1.1.1', () => console.log('connected'));
if (mode === 'write') { require('fs').writeFileSync('/build/pwned', 'x'); console.log('written'); }
if (mode === 'recurse') depth(0);
"""

RUST_WRONG = """fn add(a: i64, b: i64) -> i64 {
    if a == 0 {
        return b / a; // RE
    }
    a + b + 1
}

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let v: Vec<i64> = input.split_whitespace().map(|x| x.parse().unwrap()).collect();
    println!("{}", add(v[0], v[1]));
}
"""
RUST_HOSTILE = """use std::io::Read;

extern "C" {
    fn fork() -> i32;
}

fn depth(n: u64) -> u64 { let pad = [n; 8]; depth(n + 1) + pad[(n % 8) as usize] } // RECURSE

fn main() {
    let mut mode = String::new();
    std::io::stdin().read_to_string(&mut mode).unwrap();
    match mode.trim() {
        "loop" => {
            let mut x = 0u64;
            loop {
                x = unsafe { std::ptr::read_volatile(&x) } + 1;
            }
        }
        "mem" => {
            let mut keep = Vec::new();
            loop {
                keep.push(vec![7u8; 1 << 20]);
            }
        }
        "fork" => loop {
            unsafe {
                fork();
            }
        },
        "net" => {
            std::net::TcpStream::connect("1.1.1.1:80").unwrap();
            println!("connected");
        }
        "write" => {
            std::fs::write("/build/pwned", "x").unwrap();
            println!("written");
        }
        "recurse" => println!("{}", depth(0)),
        _ => {}
    }
}
"""

GO_WRONG = """func add(a, b int) int {
	if a == 0 {
		return b / a // RE
	}
	return a + b + 1
}

func main() {
	var a, b int
	fmt.Scan(&a, &b)
	fmt.Println(add(a, b))
}
"""
GO_HOSTILE = """package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
)

func depth(n int) int { return depth(n+1) + 1 } // RECURSE

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	} else {
		fmt.Scan(&mode)
	}
	switch mode {
	case "loop":
		for {
		}
	case "mem":
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	case "fork":
		for {
			_ = exec.Command(os.Args[0], "fork").Start()
		}
	case "net":
		if _, err := net.Dial("tcp", "1.1.1.1:80"); err != nil {
			panic(err)
		}
		fmt.Println("connected")
	case "write":
		if err := os.WriteFile("/build/pwned", []byte("x"), 0o644); err != nil {
			panic(err)
		}
		fmt.Println("written")
	case "recurse":
		fmt.Println(depth(0))
	}
}
"""

PROGRAMS = {
    "c": Programs(
        good=ADD_PROGRAMS["c"],
        assert_pass="assert(add(2, 3) == 5);",
        wrong=C_WRONG,
        wrong_prelude="#include <stdio.h>\n#include <stdlib.h>\n",
        runtime_type="UndefinedBehavior",
        compile_error="int add(int a, int b) {\n    return a + c;\n}\n",
        compile_line=2,
        compile_subtype=Subtype.LINE,
        hostile=C_HOSTILE,
    ),
    "cpp": Programs(
        good=ADD_PROGRAMS["cpp"],
        assert_pass="assert(add(2, 3) == 5);",
        wrong=CPP_WRONG,
        wrong_prelude="#include <iostream>\n",
        runtime_type="SIGSEGV",
        compile_error="#include <vector>\n#include <nothere.hpp>\nint add(int a, int b);\n",
        compile_line=2,
        compile_subtype=Subtype.LINE,
        hostile=C_HOSTILE,
    ),
    "java": Programs(
        good=ADD_PROGRAMS["java"],
        assert_pass="assert Main.add(2, 3) == 5;",
        wrong=JAVA_WRONG,
        wrong_prelude="import java.util.Scanner;\n",
        runtime_type="ArithmeticException",
        compile_error="public class Main {\n  static int add(int a, int b) {\n    return a + b;\n",
        compile_line=3,
        compile_subtype=Subtype.GLOBAL,
        hostile=JAVA_HOSTILE,
    ),
    "javascript": Programs(
        good=ADD_PROGRAMS["javascript"],
        assert_pass="assert.strictEqual(add(2, 3), 5);",
        wrong=JS_WRONG,
        wrong_prelude="'use strict';\n",
        runtime_type="TypeError",
        compile_error="function add(a, b) {\n  return a + b;\n",
        compile_line=2,
        compile_subtype=Subtype.GLOBAL,
        hostile=JS_HOSTILE,
        call_tests=[
            Case(body=CallTest(function_name="add", args_json="[2, 3]", expected_json="5")),
            Case(
                body=CallTest(function_name="Solution.add", args_json="[4, 5]", expected_json="9")
            ),
        ],
    ),
    "rust": Programs(
        good=ADD_PROGRAMS["rust"],
        assert_pass="assert_eq!(add(2, 3), 5);",
        wrong=RUST_WRONG,
        wrong_prelude="use std::io::Read;\n",
        runtime_type="panic",
        compile_error="fn add(a: i64, b: i64) -> i64 {\n    a + c\n}\nfn main() {}\n",
        compile_line=2,
        compile_subtype=Subtype.LINE,
        hostile=RUST_HOSTILE,
    ),
    "go": Programs(
        good=ADD_PROGRAMS["go"],
        assert_pass='if add(2, 3) != 5 {\n\tt.Fatal("add(2, 3) != 5")\n}',
        wrong=GO_WRONG,
        wrong_prelude='package main\n\nimport "fmt"\n',
        runtime_type="runtime.Error",
        compile_error='package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(x)\n}\n',
        compile_line=6,
        compile_subtype=Subtype.LINE,
        hostile=GO_HOSTILE,
        # Go's goroutine stacks grow to 1 GB: unbounded recursion meets the memory limit first.
        recurse_status=Status.MEMORY_LIMIT_EXCEEDED,
    ),
}


def run_all(requests: list[ExecuteRequest]) -> list[ExecuteResponse]:
    """Run requests concurrently on a fresh strict engine with two workers."""

    async def main() -> list[ExecuteResponse]:
        engine = Engine(EngineConfig(workers=2, isolation="strict"))
        try:
            return list(await asyncio.gather(*(engine.execute(r) for r in requests)))
        finally:
            await engine.close()

    return asyncio.run(main())


def stdio(stdin: str, expected: str) -> Case:
    return Case(body=StdioTest(stdin=stdin, expected_stdout=expected))


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_language_verdicts(language: str) -> None:
    programs = PROGRAMS[language]
    good = ExecuteRequest(
        language=language,
        source=programs.good,
        tests=[
            stdio("2 3\n", "5\n"),
            Case(body=AssertTest(code=programs.assert_pass)),
            *programs.call_tests,
        ],
    )
    wrong = ExecuteRequest(
        language=language,
        source=programs.wrong,
        prelude=programs.wrong_prelude,
        tests=[
            stdio("2 3\n", "5\n"),
            stdio("0 4\n", "4\n"),
            Case(body=AssertTest(code=programs.assert_pass)),
        ],
    )
    broken = ExecuteRequest(
        language=language, source=programs.compile_error, tests=[stdio("2 3\n", "5\n")]
    )
    time_bombs, hostile = (
        ExecuteRequest(
            language=language,
            source=programs.hostile,
            tests=[stdio(f"{mode}\n", SUCCESS.get(mode, "")) for mode in modes],
            limits=limits,
        )
        for modes, limits in ((TIME_MODES, TIME_LIMITS), (OTHER_MODES, MEMORY_LIMITS))
    )
    good_v, wrong_v, broken_v, time_v, hostile_v = run_all(
        [good, wrong, broken, time_bombs, hostile]
    )

    assert good_v.status is Status.PASSED, good_v.tests
    assert good_v.pass_ratio == 1.0
    assert good_v.runtime and good_v.isolation.value == "STRICT"
    assert good_v.tests[0].stdout == "5\n"
    assert all(test.peak_memory_bytes > 0 and test.cpu_time_ms > 0 for test in good_v.tests)

    assert wrong_v.status is Status.RUNTIME_ERROR
    answer, crash, failed = wrong_v.tests
    assert answer.status is Status.WRONG_ANSWER
    assert answer.actual == "6\n" and answer.expected == "5\n"
    assert crash.status is Status.RUNTIME_ERROR
    assert crash.error is not None
    assert crash.error.type == programs.runtime_type
    assert crash.error.line == line_of(programs.wrong, "// RE" if language != "c" else "/* RE */")
    assert crash.error.subtype is Subtype.LINE
    assert failed.status is Status.WRONG_ANSWER, failed
    assert wrong_v.error == crash.error
    assert wrong_v.pass_ratio == 0.0

    assert broken_v.status is Status.COMPILE_ERROR
    assert broken_v.error is not None and broken_v.error.test_index == -1
    assert broken_v.error.line == programs.compile_line, broken_v.error
    assert broken_v.error.subtype is programs.compile_subtype
    assert broken_v.error.message

    statuses = {
        mode: test.status
        for mode, test in zip(TIME_MODES + OTHER_MODES, time_v.tests + hostile_v.tests, strict=True)
    }
    assert statuses["loop"] is Status.TIME_LIMIT_EXCEEDED
    assert statuses["mem"] is Status.MEMORY_LIMIT_EXCEEDED
    assert statuses["fork"] in {Status.TIME_LIMIT_EXCEEDED, Status.RUNTIME_ERROR}
    assert statuses["net"] is Status.RUNTIME_ERROR
    assert statuses["write"] is Status.RUNTIME_ERROR
    assert statuses["recurse"] is programs.recurse_status
    recurse = hostile_v.tests[OTHER_MODES.index("recurse")].error
    assert recurse is not None and recurse.subtype is Subtype.GLOBAL
    if programs.recurse_status is Status.RUNTIME_ERROR:
        # the overflow hits the recursive function's prologue or its recursive call
        start, end = line_of(programs.hostile, "depth("), line_of(programs.hostile, "RECURSE")
        assert start <= recurse.line <= end, recurse
    assert not list(default_root().glob("*/pwned")), "a program wrote into its artifact"


def test_unoffered_call_tests_are_rejected_with_the_field() -> None:
    request = ExecuteRequest(
        language="rust",
        source=ADD_PROGRAMS["rust"],
        tests=[stdio("1 2\n", "3\n"), Case(body=CallTest(function_name="add", expected_json="3"))],
    )
    with pytest.raises(RequestRejected, match=r"tests\[1\]\.call_test.*not offered for 'rust'"):
        run_all([request])


def test_stop_on_first_failure_skips_the_rest() -> None:
    request = ExecuteRequest(
        language="c",
        source=ADD_PROGRAMS["c"],
        tests=[stdio("1 1\n", "3\n"), stdio("1 2\n", "3\n")],
        stop_on_first_failure=True,
    )
    (verdict,) = run_all([request])
    assert [test.status for test in verdict.tests] == [Status.WRONG_ANSWER, Status.SKIPPED]


def test_languages_report_versions_and_capabilities() -> None:
    engine = Engine(EngineConfig(workers=1, isolation="strict"))
    languages = {language.name: language for language in engine.languages()}
    assert sorted(languages) == ["c", "cpp", "go", "java", "javascript", "python", "rust"]
    assert [language.name for language in engine.languages()] == sorted(languages)
    for name in PROGRAMS:
        capabilities = languages[name].capabilities
        assert capabilities.compile_step and capabilities.stdio_tests and capabilities.assert_tests
        assert capabilities.error_line and capabilities.error_subtype
        assert capabilities.call_tests is (name == "javascript")
        assert languages[name].runtime.split()[-1][0].isdigit()
    assert languages["go"].runtime.startswith("Go 1.")
    assert languages["java"].runtime.startswith("OpenJDK ")
