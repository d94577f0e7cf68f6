"""Every row of the compile-error subtype table, reached by a real program and a real compiler.

Each case is compiled in the real compile jail; the test checks the verdict's line and subtype
and which row of ``rules.COMPILE_RULES`` decided, and that every row was reached.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from crucible.sandbox_service.engine import Engine, EngineConfig
from crucible.sandbox_service.engine.languages import rules
from crucible.sandbox_service.models import (
    AssertTest,
    ExecuteRequest,
    ExecuteResponse,
    Status,
    StdioTest,
    Subtype,
)
from crucible.sandbox_service.models import TestCase as Case

G, L, IG = Subtype.GLOBAL, Subtype.LINE, Subtype.IGNORE


@dataclass(frozen=True)
class RuleCase:
    language: str
    source: str
    line: int
    subtype: Subtype
    reason: str | None  # the rule's reason; None = no row matches (the LINE default)


CASES = [
    # end of file
    RuleCase("c", "int main(void) {\n    return 0;\n", 2, G, "unexpected end of file"),
    RuleCase("cpp", "int main() {\n    return 0;\n", 2, G, "unexpected end of file"),
    RuleCase("java", "class Main {\n  int f() { return 1; }\n", 2, G, "unexpected end of file"),
    RuleCase("javascript", "function f() {\n  return 1;\n", 2, G, "unexpected end of file"),
    RuleCase("rust", "fn main() {\n    let x = 1;\n", 2, G, "unexpected end of file"),
    RuleCase("go", "package main\n\nfunc main() {\n\tx := 1\n", 4, G, "unexpected end of file"),
    # unterminated comments and multi-line strings
    RuleCase("c", "int main(void) { return 0; }\n/* open\n", 0, IG, "unterminated comment"),
    RuleCase("cpp", "int main() { return 0; }\n/* open\n", 0, IG, "unterminated comment"),
    RuleCase("java", "class Main {}\n/* open\n", 0, IG, "unterminated comment"),
    RuleCase("rust", "fn main() {}\n/* open\n", 0, IG, "unterminated comment"),
    RuleCase("go", "package main\n\nfunc main() {}\n/* open\n", 0, IG, "unterminated comment"),
    RuleCase(
        "rust",
        'fn main() {\n    let s = "abc;\n}\n',
        0,
        IG,
        "unterminated multi-line string",
    ),
    RuleCase(
        "go",
        "package main\n\nfunc main() {\n\ts := `abc\n}\n",
        0,
        IG,
        "unterminated raw (multi-line) string",
    ),
    # duplicate parameters
    RuleCase("c", "int f(int a, int a) { return a; }\n", 0, IG, "duplicate argument"),
    RuleCase(
        "javascript",
        "'use strict';\nfunction f(a, a) { return a; }\n",
        0,
        IG,
        "duplicate argument",
    ),
    RuleCase(
        "rust", "fn f(a: i32, a: i32) -> i32 { a }\nfn main() {}\n", 0, IG, "duplicate argument"
    ),
    # no entry point
    RuleCase("rust", "fn add() {}\n", 0, IG, "no main function"),
    # missing includes/imports and unknown names
    RuleCase("c", "#include <stdio.h>\n#include <nothere.h>\n", 2, L, "missing include"),
    RuleCase("cpp", "#include <nothere>\n", 1, L, "missing include"),
    RuleCase("c", "int main(void) {\n    return x;\n}\n", 2, L, "unknown name"),
    RuleCase("cpp", "int main() {\n    return x;\n}\n", 2, L, "unknown name"),
    RuleCase("c", "int main(void) {\n    foo(1);\n    return 0;\n}\n", 2, L, "unknown function"),
    RuleCase("c", "mytype f(void);\n", 1, L, "unknown type"),
    RuleCase("cpp", "\nmytype f();\n", 2, L, "unknown type"),
    RuleCase(
        "cpp",
        "#include <vector>\nint main() {\n    return std::vectr;\n}\n",
        3,
        L,
        "unknown member",
    ),
    RuleCase("cpp", "#include <vector>\nstd::vectr<int> v;\n", 2, L, "unknown type"),
    RuleCase(
        "c",
        "struct p { int x; };\nint f(struct p q) {\n    return q.y;\n}\n",
        3,
        L,
        "unknown member",
    ),
    RuleCase("java", "import java.utl.List;\nclass Main {}\n", 1, L, "missing import"),
    RuleCase("java", "class Main {\n  int f() { return x; }\n}\n", 2, L, "unknown name"),
    RuleCase("javascript", "\nimport fs from 'fs';\n", 2, L, "import outside a module"),
    RuleCase("rust", "use std::colections::HashMap;\nfn main() {}\n", 1, L, "missing import"),
    RuleCase("rust", "fn main() {\n    let y = x + 1;\n}\n", 2, L, "unknown name"),
    RuleCase("go", 'package main\n\nimport "fmtx"\n\nfunc main() {}\n', 3, L, "missing import"),
    RuleCase("go", "package main\n\nfunc main() {\n\ty := x\n\t_ = y\n}\n", 4, L, "unknown name"),
    # anything else: LINE at the reported line
    RuleCase("c", "int main(void) {\n    int x = 1 + ;\n    return x;\n}\n", 2, L, None),
    RuleCase("java", "class Main {\n  int f() { int x = 1 return x; }\n}\n", 2, L, None),
    RuleCase("javascript", "let x = 1;\nlet x = 2;\n", 2, L, None),
    RuleCase("rust", 'fn main() {\n    let x: i32 = "a";\n}\n', 2, L, None),
    RuleCase("go", 'package main\n\nimport "fmt"\n\nfunc main() {}\n', 3, L, None),
]


def run_all(requests: list[ExecuteRequest]) -> list[ExecuteResponse]:
    async def main() -> list[ExecuteResponse]:
        engine = Engine(EngineConfig(workers=2, isolation="strict"))
        try:
            return list(await asyncio.gather(*(engine.execute(r) for r in requests)))
        finally:
            await engine.close()

    return asyncio.run(main())


@pytest.mark.slow
def test_every_compile_rule_with_a_real_compiler() -> None:
    requests = [
        ExecuteRequest(
            language=case.language,
            source=case.source,
            tests=[Case(body=StdioTest(stdin="", expected_stdout=""))],
        )
        for case in CASES
    ]
    reached = set()
    for case, verdict in zip(CASES, run_all(requests), strict=True):
        label = f"{case.language}: {case.source!r}"
        assert verdict.status is Status.COMPILE_ERROR, label
        error = verdict.error
        assert error is not None, label
        assert (error.line, error.subtype) == (case.line, case.subtype), (label, error)
        rule = rules.matching_rule(case.language, error.message)
        assert (rule.reason if rule else None) == case.reason, (label, error.message)
        if rule is not None:
            reached.add(rule)
    assert reached == set(rules.COMPILE_RULES), set(rules.COMPILE_RULES) - reached


def test_errors_outside_the_candidate_are_ignore() -> None:
    """A test that calls a function the candidate lacks fails to compile in the test's code:
    no line of the candidate is at fault (as for Python's NameError without a frame)."""
    requests = [
        ExecuteRequest(
            language="c",
            source="int add(int a, int b) { return a + b; }\n",
            tests=[Case(body=AssertTest(code="assert(sub(3, 1) == 2);"))],
        ),
        ExecuteRequest(
            language="c",
            source="int add(int a, int b) { return a + b; }\n",
            tests=[Case(body=StdioTest(stdin="", expected_stdout=""))],
        ),
    ]
    in_test, no_main = run_all(requests)
    for verdict in (in_test, no_main):
        assert verdict.status is Status.COMPILE_ERROR
        assert verdict.error is not None
        assert (verdict.error.line, verdict.error.subtype) == (0, Subtype.IGNORE)
    assert no_main.error is not None and no_main.error.type == "LinkError"
    assert "main" in no_main.error.message


def test_runtime_subtypes() -> None:
    assert rules.runtime_subtype("java", "StackOverflowError", "", 3) is G
    assert (
        rules.runtime_subtype("javascript", "RangeError", "Maximum call stack size exceeded", 2)
        is G
    )
    assert rules.runtime_subtype("javascript", "RangeError", "Invalid array length", 2) is L
    assert rules.runtime_subtype("c", "SIGSEGV", "invalid memory access", 0) is IG
    assert rules.runtime_subtype("go", "panic", "", 4) is IG
    assert rules.runtime_subtype("rust", "panic", "attempt to divide by zero", 4) is L


def test_docs_table_is_the_rules_table() -> None:
    """docs/languages.md prints COMPILE_RULES row for row."""
    text = (Path(__file__).parents[2] / "docs" / "languages.md").read_text()
    table = text.split("<!-- compile-rules: begin -->")[1].split("<!-- compile-rules: end -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        languages, pattern, subtype, reason = cells
        rows.append(
            (
                tuple(languages.split(", ")),
                pattern.strip("`").strip().replace("\\|", "|"),
                Subtype(subtype),
                reason,
            )
        )
    expected = [
        (rule.languages, rule.pattern.pattern, rule.subtype, rule.reason)
        for rule in rules.COMPILE_RULES
    ]
    assert rows == expected
