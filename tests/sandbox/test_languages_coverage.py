"""Executed lines, exact, where the toolchain gives them (C and C++ with gcov, JavaScript with
V8's block coverage), and none claimed where it does not (Go, Java, Rust)."""

from __future__ import annotations

import asyncio

import pytest
from test_languages import PROGRAMS

from sandbox_service.engine import Engine, EngineConfig
from sandbox_service.models import (
    AssertTest,
    CallTest,
    ExecuteRequest,
    ExecuteResponse,
    Status,
    StdioTest,
)
from sandbox_service.models import TestCase as Case

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
    requests += [
        ExecuteRequest(
            language=language,
            source=PROGRAMS[language].good,
            tests=[Case(body=StdioTest(stdin="2 3\n", expected_stdout="5\n"))],
            collect_coverage=True,
        )
        for language in ("go", "java", "rust")
    ]
    c, cpp, javascript, *others = run_all(requests)
    for verdict in (c, cpp, javascript, *others):
        assert verdict.status is Status.PASSED, verdict.tests
    assert c.coverage_collected and c.executed_lines == C_EXECUTED
    assert cpp.coverage_collected and cpp.executed_lines == C_EXECUTED
    assert javascript.coverage_collected and javascript.executed_lines == JS_EXECUTED
    for verdict in others:
        assert not verdict.coverage_collected and verdict.executed_lines == []
