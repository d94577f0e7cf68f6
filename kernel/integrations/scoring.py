"""What the framework adapters share: a dataset row's tests as the contract's tests, a
completion as a program, and a verdict as one scalar reward.

Tests in a row take either form:

- the contract's test cases as JSON (a list, or a string holding one), e.g.
  ``[{"body": {"kind": "assert", "code": "assert add(1, 2) == 3"}}]`` (``name`` and ``checker``
  optional, as in :class:`sandbox_service.models.TestCase`);
- stdin/stdout pairs ``{"inputs": [...], "outputs": [...]}`` (APPS, and verl's SandboxFusion
  reward), each pair a stdio test.

Rewards (:data:`RewardKind`): ``pass_ratio`` (passed tests / tests), RLTF's ``coarse`` table or
its ``adaptive`` variant (:mod:`kernel.rewards`). A positive ``fine_grained_penalty`` is RLTF's
fine-grained penalty as one scalar: subtracted when the error implicates code of the program
(:func:`kernel.rewards.feedback_class` GLOBAL or LINE), since a scalar reward cannot single out
the failing line's tokens. A sandbox failure says nothing about the program, so it scores None
(trl leaves it out of the step's statistics).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from crucible.kernel.rewards import adaptive_reward, coarse_reward, feedback_class
from crucible.sandbox_service.models import (
    ExecuteRequest,
    ExecuteResponse,
    Limits,
    Status,
    StdioTest,
    Subtype,
    TestCase,
)

RewardKind = Literal["pass_ratio", "coarse", "adaptive"]
REWARD_KINDS: tuple[RewardKind, ...] = ("pass_ratio", "coarse", "adaptive")

_CASES = TypeAdapter(list[TestCase])
# A fenced block: ```lang\n...``` (the language tag optional); the last one is the answer.
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


class InvalidTests(ValueError):
    """A row's tests in neither accepted form; the message says what is wrong."""


def parse_tests(value: Any) -> list[TestCase]:
    """A row's tests (see the module docstring) as test cases; :class:`InvalidTests` if none."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidTests(f"tests are not valid JSON: {exc.msg} at {exc.pos}") from None
    if isinstance(value, dict) and {"inputs", "outputs"} <= value.keys():
        return _stdio_pairs(value["inputs"], value["outputs"])
    try:
        cases = _CASES.validate_python(value)
    except ValidationError as exc:
        raise InvalidTests(
            "tests are neither a list of test cases nor {inputs, outputs}: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        ) from None
    if not cases:
        raise InvalidTests("tests are empty; a row needs at least one")
    return cases


def _stdio_pairs(inputs: Any, outputs: Any) -> list[TestCase]:
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise InvalidTests("tests' inputs and outputs must be lists")
    if len(inputs) != len(outputs):
        raise InvalidTests(f"tests have {len(inputs)} inputs but {len(outputs)} outputs")
    if not inputs:
        raise InvalidTests("tests are empty; a row needs at least one")
    return [
        TestCase(body=StdioTest(stdin=str(stdin), expected_stdout=str(expected)))
        for stdin, expected in zip(inputs, outputs, strict=True)
    ]


def extract_code(completion: str) -> str:
    """The program in a completion: its last fenced code block if it has one, else all of it."""
    blocks = _FENCE.findall(completion)
    return blocks[-1] if blocks else completion


def build_request(
    completion: str,
    tests: Any,
    *,
    request_id: str = "",
    language: str = "python",
    prelude: str = "",
    limits: Limits | None = None,
) -> ExecuteRequest:
    """The request that runs ``completion``'s program (after ``prelude``) against ``tests``."""
    return ExecuteRequest(
        request_id=request_id,
        language=language,
        source=extract_code(completion),
        prelude=prelude,
        tests=parse_tests(tests),
        limits=limits or Limits(),
    )


def score(
    verdict: ExecuteResponse, kind: RewardKind, fine_grained_penalty: float = 0.0
) -> float | None:
    """One scalar reward for a verdict (see the module docstring); None for a sandbox failure."""
    if verdict.status is Status.SANDBOX_ERROR:
        return None
    if kind == "pass_ratio":
        reward = verdict.pass_ratio
    elif kind == "coarse":
        reward = coarse_reward(verdict)
    else:
        reward = adaptive_reward(verdict)
    if fine_grained_penalty and feedback_class(verdict) is not Subtype.IGNORE:
        reward -= fine_grained_penalty
    return reward


def check_settings(kind: str, fine_grained_penalty: float) -> RewardKind:
    """``kind`` as a reward kind; ValueError naming the problem."""
    if kind not in REWARD_KINDS:
        raise ValueError(f"reward {kind!r} is not one of {', '.join(REWARD_KINDS)}")
    if fine_grained_penalty < 0:
        raise ValueError(f"fine_grained_penalty must be >= 0, got {fine_grained_penalty}")
    return kind


def column(values: Sequence[Any] | Any, count: int, default: Any) -> list[Any]:
    """A per-completion column from trl's keyword arguments: the list, or ``default`` each."""
    if values is None:
        return [default] * count
    return [default if value is None else value for value in values]
