"""Crucible as verl's custom reward function: ``compute_score`` loaded by file path, as verl's
``custom_reward_function.path`` loads it, scoring responses against a real sandbox server."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from typing import Any

import pytest
from live_server import LiveServer

import crucible.kernel.integrations.verl_reward as installed
from crucible.kernel.integrations.scoring import InvalidTests, extract_code, parse_tests
from crucible.sandbox_service.models import AssertTest, StdioTest

pytestmark = pytest.mark.timeout(120)

DOUBLE = {"inputs": ["1\n", "2\n"], "outputs": ["2\n", "4\n"]}
ASSERTS = [
    {"name": "one", "body": {"kind": "assert", "code": "assert add(1, 2) == 3"}},
    {"body": {"kind": "assert", "code": "assert add(2, 2) == 4"}},
]


@pytest.fixture(scope="module")
def compute_score() -> Callable[..., float]:
    """``compute_score`` from the module file itself, the way verl imports it."""
    spec = importlib.util.spec_from_file_location("custom_module", installed.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function: Callable[..., float] = module.compute_score
    return function


def score(
    compute: Callable[..., float], server: LiveServer, solution: str, truth: Any, **kw: Any
) -> float:
    return compute("test", solution, truth, None, server=server.address, **kw)


def test_a_fenced_stdio_solution_scores_its_pass_ratio(
    compute_score: Callable[..., float], sandbox_server: LiveServer
) -> None:
    right = "Here it is:\n```python\nprint(int(input()) * 2)\n```\n"
    half = "```python\nn = int(input())\nprint(2 if n == 1 else 5)\n```"
    assert score(compute_score, sandbox_server, right, DOUBLE) == 1.0
    assert score(compute_score, sandbox_server, half, json.dumps(DOUBLE)) == 0.5


def test_rltf_rewards_and_the_fine_grained_penalty(
    compute_score: Callable[..., float], sandbox_server: LiveServer
) -> None:
    broken = "def add(a, b:\n    return a + b\n"
    raising = "def add(a, b):\n    return a / 0\n"
    one_wrong = "def add(a, b):\n    return 3\n"
    run = lambda solution, **kw: score(compute_score, sandbox_server, solution, ASSERTS, **kw)  # noqa: E731
    assert run(broken, reward="coarse") == -1.0
    assert run(raising, reward="coarse") == -0.6
    assert run(raising, reward="coarse", fine_grained_penalty=0.3) == pytest.approx(-0.9)
    assert run(one_wrong, reward="adaptive") == pytest.approx(-0.3 + 1.3 * 0.5)
    assert run(one_wrong, reward="adaptive", fine_grained_penalty=0.3) == pytest.approx(0.35)


def test_extra_info_names_the_language_and_a_prelude(
    compute_score: Callable[..., float], sandbox_server: LiveServer
) -> None:
    body = "    return a + b\n"
    info = {"prelude": "def add(a, b):\n"}
    assert compute_score("t", body, ASSERTS, info, server=sandbox_server.address) == 1.0
    program = "const n = Number(require('fs').readFileSync(0, 'utf8'));\nconsole.log(n * 2);\n"
    info = {"language": "javascript"}
    assert compute_score("t", program, DOUBLE, info, server=sandbox_server.address) == 1.0


def test_bad_settings_and_tests_are_named(
    compute_score: Callable[..., float], sandbox_server: LiveServer
) -> None:
    with pytest.raises(
        ValueError, match="reward 'best' is not one of pass_ratio, coarse, adaptive"
    ):
        score(compute_score, sandbox_server, "x", DOUBLE, reward="best")
    with pytest.raises(InvalidTests, match="tests have 2 inputs but 1 outputs"):
        score(compute_score, sandbox_server, "x", {"inputs": ["1", "2"], "outputs": ["2"]})


def test_both_forms_of_tests_become_the_contracts_tests() -> None:
    stdio = parse_tests(DOUBLE)
    assert [case.body for case in stdio] == [
        StdioTest(stdin="1\n", expected_stdout="2\n"),
        StdioTest(stdin="2\n", expected_stdout="4\n"),
    ]
    cases = parse_tests(json.dumps(ASSERTS))
    assert [(case.name, case.body) for case in cases] == [
        ("one", AssertTest(code="assert add(1, 2) == 3")),
        ("", AssertTest(code="assert add(2, 2) == 4")),
    ]
    for bad, message in [
        ("[", "tests are not valid JSON"),
        ([], "tests are empty"),
        ([{"body": {"kind": "shell"}}], "neither a list of test cases nor {inputs, outputs}"),
    ]:
        with pytest.raises(InvalidTests, match=message):
            parse_tests(bad)


def test_the_last_fenced_block_is_the_program() -> None:
    assert extract_code("a\n```python\nx = 1\n```\nthen\n```\ny = 2\n```") == "y = 2\n"
    assert extract_code("x = 1\n") == "x = 1\n"
