"""Executed lines, exact, in every language: C and C++ with gcov, JavaScript with V8's block
coverage, Go with ``go tool cover``, Rust with LLVM's source-based coverage, Java with JaCoCo;
and the executable lines where the tool knows them (all but V8)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.engine.languages.base import LanguageSpec, Paths
from crucible.sandbox_service.engine.languages.go import GO
from crucible.sandbox_service.engine.languages.java import JAVA
from crucible.sandbox_service.engine.languages.rust import RUST
from crucible.sandbox_service.models import (
    AssertTest,
    CallTest,
    ExecuteRequest,
    ExecuteResponse,
    Status,
    StdioTest,
)
from crucible.sandbox_service.models import TestCase as Case

C_SOURCE = """int sign(int x) {
    if (x > 0) {
        return 1;
    }
    if (x < 0) {
        return -1;
    }
    return 0;
}

int main(void) {
    int x;
    if (scanf("%d", &x) != 1) {
        return 1;
    }
    printf("%d\\n", sign(x));
    return 0;
}
"""
# Lines 1-3 and 5 run for the stdio test (x = 7), 5-6 for the assert test (x = -2); 8 never.
C_EXECUTED = [1, 2, 3, 5, 6, 11, 13, 16, 17]
# gcov lists the lines holding code: those that ran, 8 (`return 0;`) and 14 (`return 1;`).
C_EXECUTABLE = [1, 2, 3, 5, 6, 8, 11, 13, 14, 16, 17]
C_ASSERT = "assert(sign(-2) == -1);"

JS_SOURCE = """function sign(x) {
  if (x > 0) {
    return 1;
  }
  // zero and negatives
  if (x < 0) {
    return -1;
  }
  return 0;
}

const input = require('fs').readFileSync(0, 'utf8').trim();
if (input) {
  console.log(sign(Number(input)));
}
"""
# 3 runs for the stdio test, 7 for the call test; 9 never; 5 is a comment.
JS_EXECUTED = [1, 2, 3, 4, 6, 7, 8, 10, 12, 13, 14, 15]

GO_PRELUDE = 'package main\n\nimport "fmt"\n'
GO_SOURCE = """func sign(x int) int {
	if x > 0 {
		return 1
	}
	if x < 0 {
		return -1
	}
	return 0
}

func never() int {
	return 42
}

func main() {
	var x int

	// read one number
	fmt.Scan(&x)
	total := 0
	for i := 0; i < 3; i++ {
		total += sign(x)
	}
	fmt.Println(total)
}
"""
# The stdio test (x = 7) runs main, its loop and 1-3; the assert test (x = -2) runs 1-2 and 5-6.
# 8 and never() never run; 17 is blank, 18 a comment, and lone closing braces never count.
GO_EXECUTED = [1, 2, 3, 5, 6, 15, 16, 19, 20, 21, 22, 24]
# Blocks that did not run: 8 and never()'s 11-12 (its header and `return 42`).
GO_EXECUTABLE = [1, 2, 3, 5, 6, 8, 11, 12, 15, 16, 19, 20, 21, 22, 24]
GO_ASSERT = 'if sign(-2) != -1 {\n\tt.Fatal("sign(-2) != -1")\n}'
GO_PANIC = """func ratio(a, b int) int {
	return a / b // RE
}

func main() {
	var a, b int
	fmt.Scan(&a, &b)
	if a < 0 {
		a = -a
	}
	if r := ratio(a, b); r > 1 {
		fmt.Println("big")
	}
	fmt.Println("done")
}
"""
# Up to the panic in ratio (line 2, called from 11): 9 is a branch not taken, 12-14 come after.
GO_PANIC_EXECUTED = [1, 2, 5, 6, 7, 8, 11]
GO_SYNTAX_ERROR = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(1\n}\n'


def run_all(requests: list[ExecuteRequest]) -> list[ExecuteResponse]:
    async def main() -> list[ExecuteResponse]:
        engine = Engine(EngineConfig(workers=2, isolation="strict"))
        try:
            return list(await asyncio.gather(*(engine.execute(r) for r in requests)))
        finally:
            await engine.close()

    return asyncio.run(main())


@pytest.mark.slow
def test_executed_lines() -> None:
    stdio = Case(body=StdioTest(stdin="7\n", expected_stdout="1\n"))
    requests = [
        ExecuteRequest(
            language=language,
            source=C_SOURCE,
            prelude="#include <stdio.h>\n",
            tests=[stdio, Case(body=AssertTest(code=C_ASSERT))],
            collect_coverage=True,
        )
        for language in ("c", "cpp")
    ]
    requests.append(
        ExecuteRequest(
            language="javascript",
            source=JS_SOURCE,
            tests=[
                stdio,
                Case(body=CallTest(function_name="sign", args_json="[-2]", expected_json="-1")),
            ],
            collect_coverage=True,
        )
    )
    c, cpp, javascript = run_all(requests)
    for verdict in (c, cpp, javascript):
        assert verdict.status is Status.PASSED, verdict.tests
    assert c.coverage_collected and c.executed_lines == C_EXECUTED
    assert cpp.coverage_collected and cpp.executed_lines == C_EXECUTED
    assert c.executable_lines == cpp.executable_lines == C_EXECUTABLE
    assert javascript.coverage_collected and javascript.executed_lines == JS_EXECUTED
    # V8 counts character ranges, not statements: it cannot say what could have run.
    assert javascript.executable_lines == []


def go_request(
    source: str, tests: list[Case], coverage: bool = True, prelude: str = GO_PRELUDE
) -> ExecuteRequest:
    return ExecuteRequest(
        language="go", source=source, prelude=prelude, tests=tests, collect_coverage=coverage
    )


@pytest.mark.slow
def test_go_executed_lines_of_stdio_and_assert_tests() -> None:
    stdio = Case(body=StdioTest(stdin="7\n", expected_stdout="3\n"))
    (verdict,) = run_all([go_request(GO_SOURCE, [stdio, Case(body=AssertTest(code=GO_ASSERT))])])
    assert verdict.status is Status.PASSED, verdict.tests
    assert verdict.coverage_collected and verdict.executed_lines == GO_EXECUTED
    assert verdict.executable_lines == GO_EXECUTABLE


@pytest.mark.slow
def test_go_coverage_keeps_panics_and_compile_errors_as_they_are() -> None:
    """With coverage the counters of a panicking program are still written, and verdicts,
    runtime-error lines, traces and compile errors equal those of the plain build."""
    stdio = Case(body=StdioTest(stdin="6 0\n", expected_stdout="1\n"))
    asserted = Case(body=AssertTest(code="_ = ratio(1, 0)"))
    broken = Case(body=StdioTest(stdin="", expected_stdout="1\n"))
    requests = [
        go_request(source, [test], coverage, prelude)
        for source, test, prelude in (
            (GO_PANIC, stdio, GO_PRELUDE),
            (GO_PANIC, asserted, GO_PRELUDE),
            (GO_SYNTAX_ERROR, broken, ""),
        )
        for coverage in (True, False)
    ]
    stdio_covered, stdio_plain, assert_covered, assert_plain, broken_covered, broken_plain = (
        run_all(requests)
    )
    for covered, plain in ((stdio_covered, stdio_plain), (assert_covered, assert_plain)):
        assert covered.status is Status.RUNTIME_ERROR, covered.tests
        assert covered.error is not None and covered.error.type == "runtime.Error"
        assert covered.error.line == 2 and "integer divide by zero" in covered.error.message
        assert covered.error == plain.error
    assert stdio_covered.executed_lines == GO_PANIC_EXECUTED
    assert assert_covered.executed_lines == [1, 2]
    assert broken_covered.status is Status.COMPILE_ERROR
    assert broken_covered.error is not None and broken_covered.error.line == 6
    assert broken_covered.error == broken_plain.error
    assert not broken_covered.coverage_collected


def test_go_instrumented_builds_have_their_own_cache_key() -> None:
    request = go_request(GO_SOURCE, [Case(body=StdioTest(stdin="7\n", expected_stdout="3\n"))])
    plain, covered = (
        GO.plan(request, Paths.jailed(), coverage).cache_key("go", "Go 1.19")
        for coverage in (False, True)
    )
    assert plain != covered


@dataclass(frozen=True)
class Covered:
    """One language's coverage programs: lines with an untaken branch, a loop and an uncalled
    function; a fault (panic or exception) below a branch; compile errors."""

    spec: LanguageSpec
    source: str
    assert_code: str
    executed: list[int]
    executable: list[int]
    fault: str
    fault_assert: str
    fault_type: str
    fault_line: int
    fault_executed: list[int]
    compile_errors: list[str]


RUST_COVERED = Covered(
    spec=RUST,
    source="""fn sign(x: i64) -> i64 {
    if x > 0 {
        return 1;
    }
    if x < 0 {
        return -1;
    }
    0
}

fn never() -> i64 {
    42
}

fn main() {
    let mut line = String::new();
    // read one number
    std::io::stdin().read_line(&mut line).unwrap();
    let x: i64 = line.trim().parse().unwrap();
    let mut total = 0;
    for _ in 0..3 {
        total += sign(x);
    }
    println!("{}", total);
}
""",
    assert_code="assert_eq!(sign(-2), -1);",
    # llvm-cov's line counts: 4 is where the code after the first `if` starts (run for x = -2),
    # 7 likewise for the second `if` (not run); 8 (`0`) and never() never run, 17 is a comment.
    executed=[1, 2, 3, 4, 5, 6, 9, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25],
    # llvm-cov's lines with a count of 0: 7 and 8 (after the second `if`) and never()'s 11-13.
    executable=[*range(1, 10), 11, 12, 13, 15, 16, *range(18, 26)],
    fault="""fn ratio(a: i64, b: i64) -> i64 {
    a / b
}

fn main() {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let v: Vec<i64> = line.split_whitespace().map(|s| s.parse().unwrap()).collect();
    let mut a = v[0];
    if a < 0 {
        a = -a;
    }
    let r = ratio(a, v[1]);
    if r > 1 {
        println!("big");
    }
    println!("done");
}
""",
    fault_assert="ratio(1, 0);",
    fault_type="panic",
    fault_line=2,
    # 11 and 15 are branches not taken. rustc derives some counts as differences of others,
    # assuming calls return: the code after the panicking call (14, 16-18) counts too.
    fault_executed=[1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 16, 17, 18],
    compile_errors=[
        'fn main() {\n    println!("{}", y);\n}\n',
        # the profiler crate is the only nightly build: a candidate's #![feature] still fails
        '#![feature(test)]\nfn main() {\n    println!("1");\n}\n',
    ],
)

JAVA_COVERED = Covered(
    spec=JAVA,
    source="""import java.util.Scanner;

public class Main {
    static int sign(int x) {
        if (x > 0) {
            return 1;
        }
        if (x < 0) {
            return -1;
        }
        return 0;
    }

    static int never() {
        return 42;
    }

    public static void main(String[] args) {
        // read one number
        int x = new Scanner(System.in).nextInt();
        int total = 0;
        for (int i = 0; i < 3; i++) {
            total += sign(x);
        }
        System.out.println(total);
    }
}
""",
    assert_code="assert Main.sign(-2) == -1;",
    # JaCoCo's lines with a covered instruction: 3 (the implicit constructor), 11 and never()
    # never run; braces, declarations and the comment hold no instructions.
    executed=[5, 6, 8, 9, 20, 21, 22, 23, 25, 26],
    # JaCoCo's lines with instructions that did not run: 3, 11 and never()'s 15.
    executable=[3, 5, 6, 8, 9, 11, 15, 20, 21, 22, 23, 25, 26],
    fault="""import java.util.Scanner;

public class Main {
    static int ratio(int a, int b) {
        return a / b;
    }

    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int a = in.nextInt();
        int b = in.nextInt();
        if (a < 0) {
            a = -a;
        }
        int r = ratio(a, b);
        if (r > 1) {
            System.out.println("big");
        }
        System.out.println("done");
    }
}
""",
    fault_assert="Main.ratio(1, 0);",
    fault_type="ArithmeticException",
    fault_line=5,
    # 13 is a branch not taken; JaCoCo's probes sit at branches and exits, so the lines the
    # exception left (5, and 15 that called it) do not count, nor anything after them.
    fault_executed=[9, 10, 11, 12],
    compile_errors=[
        "public class Main {\n"
        "    public static void main(String[] args) {\n"
        "        int x = y;\n"
        "    }\n"
        "}\n"
    ],
)
COVERED = {"rust": RUST_COVERED, "java": JAVA_COVERED}


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(COVERED))
def test_executed_lines_of_stdio_and_assert_tests(language: str) -> None:
    program = COVERED[language]
    stdio = Case(body=StdioTest(stdin="7\n", expected_stdout="3\n"))
    asserted = Case(body=AssertTest(code=program.assert_code))
    request = ExecuteRequest(
        language=language, source=program.source, tests=[stdio, asserted], collect_coverage=True
    )
    (verdict,) = run_all([request])
    assert verdict.status is Status.PASSED, verdict.tests
    assert verdict.coverage_collected and verdict.executed_lines == program.executed
    assert verdict.executable_lines == program.executable


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(COVERED))
def test_coverage_keeps_faults_and_compile_errors_as_they_are(language: str) -> None:
    """A program that fails still reports the lines it ran up to the fault, and verdicts,
    runtime-error lines, traces, output and compile errors equal those of the plain build."""
    program = COVERED[language]
    stdio = Case(body=StdioTest(stdin="6 0\n", expected_stdout="1\n"))
    asserted = Case(body=AssertTest(code=program.fault_assert))
    broken = Case(body=StdioTest(stdin="", expected_stdout="1\n"))
    cases = [(program.fault, stdio), (program.fault, asserted)]
    cases += [(source, broken) for source in program.compile_errors]
    requests = [
        ExecuteRequest(language=language, source=source, tests=[test], collect_coverage=coverage)
        for source, test in cases
        for coverage in (True, False)
    ]
    verdicts = run_all(requests)
    pairs = list(zip(verdicts[::2], verdicts[1::2], strict=True))
    for covered, plain in pairs:
        assert covered.status is plain.status
        assert covered.error == plain.error
        assert [test.stdout for test in covered.tests] == [test.stdout for test in plain.tests]
        assert [test.stderr for test in covered.tests] == [test.stderr for test in plain.tests]
    (stdio_covered, _), (assert_covered, _), *compile_errors = pairs
    for covered in (stdio_covered, assert_covered):
        assert covered.status is Status.RUNTIME_ERROR, covered.tests
        assert covered.error is not None and covered.error.type == program.fault_type
        assert covered.error.line == program.fault_line
    assert stdio_covered.coverage_collected
    assert stdio_covered.executed_lines == program.fault_executed
    for covered, _ in compile_errors:
        assert covered.status is Status.COMPILE_ERROR and not covered.coverage_collected


@pytest.mark.parametrize("language", sorted(COVERED))
def test_instrumented_builds_have_their_own_cache_key(language: str) -> None:
    request = ExecuteRequest(
        language=language,
        source=COVERED[language].source,
        tests=[Case(body=StdioTest(stdin="7\n", expected_stdout="3\n"))],
    )
    plain, covered = (
        COVERED[language].spec.plan(request, Paths.jailed(), coverage).cache_key(language, "1")
        for coverage in (False, True)
    )
    assert plain != covered


@pytest.mark.parametrize("language", sorted(COVERED))
def test_list_languages_offers_their_coverage(language: str) -> None:
    found = COVERED[language].spec.language()
    assert found is not None and found.capabilities.executed_lines
    assert found.capabilities.executable_lines


def test_list_languages_says_which_fill_executable_lines() -> None:
    async def capabilities() -> dict[str, tuple[bool, bool]]:
        engine = Engine(EngineConfig(workers=1, isolation="strict"))
        try:
            return {
                found.name: (found.capabilities.executed_lines, found.capabilities.executable_lines)
                for found in engine.languages()
            }
        finally:
            await engine.close()

    offered = asyncio.run(capabilities())
    for language in ("python", "c", "cpp", "go", "rust", "java"):
        assert offered[language] == (True, True), language
    assert offered["javascript"] == (True, False)


RUST_OVERFLOW = """fn depth(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    1 + depth(n + 1)
}

fn main() {
    println!("{}", depth(1));
}
"""


@pytest.mark.slow
def test_rust_counters_survive_a_fatal_signal() -> None:
    """A stack overflow kills the program with SIGSEGV, past any atexit hook: the fault handler
    writes the counters, and the verdict is the plain build's."""
    test = Case(body=StdioTest(stdin="", expected_stdout="0\n"))
    covered, plain = run_all(
        [
            ExecuteRequest(language="rust", source=RUST_OVERFLOW, tests=[test], collect_coverage=c)
            for c in (True, False)
        ]
    )
    assert covered.error is not None and covered.error.type == "StackOverflow"
    assert covered.error == plain.error
    # 3 never runs; 6 and main's lines after the call count as after a panic (see RUST_COVERED).
    assert covered.executed_lines == [1, 2, 4, 5, 6, 8, 9, 10]
