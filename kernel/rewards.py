"""Execution rewards shared by the RL methods (CodeRL, RLTF, StepCoder, GRPO baselines).

The coarse table (methods.md): pass +1, some test fails -0.3, runtime error or timeout -0.6,
syntax/compile error -1. RLTF's adaptive variant rewards partial passes: a failing program earns
-0.3 + 1.3 * pass_ratio. Memory and output limits are runtime failures (-0.6); a sandbox failure
says nothing about the program and earns 0 (and is counted, so it cannot hide).

RLTF's fine-grained class of a verdict (:func:`feedback_class`) says which tokens the error
implicates: GLOBAL (the whole program), LINE (the failing line, in the completion's own
coordinates) or IGNORE (none). Passing and failing (wrong answer) programs are IGNORE whatever the
verdict says, as in the paper; so is a sandbox failure, which says nothing about the program.
"""

from __future__ import annotations

from crucible.sandbox_service.models import ExecuteResponse, Status, Subtype

PASS_REWARD = 1.0
FAIL_REWARD = -0.3
RUNTIME_ERROR_REWARD = -0.6
COMPILE_ERROR_REWARD = -1.0

_TABLE = {
    Status.PASSED: PASS_REWARD,
    Status.WRONG_ANSWER: FAIL_REWARD,
    Status.RUNTIME_ERROR: RUNTIME_ERROR_REWARD,
    Status.TIME_LIMIT_EXCEEDED: RUNTIME_ERROR_REWARD,
    Status.MEMORY_LIMIT_EXCEEDED: RUNTIME_ERROR_REWARD,
    Status.OUTPUT_LIMIT_EXCEEDED: RUNTIME_ERROR_REWARD,
    Status.COMPILE_ERROR: COMPILE_ERROR_REWARD,
    Status.SANDBOX_ERROR: 0.0,
}


def coarse_reward(verdict: ExecuteResponse) -> float:
    """CodeRL/RLTF coarse reward of a program verdict."""
    return _TABLE[verdict.status]


def adaptive_reward(verdict: ExecuteResponse) -> float:
    """RLTF adaptive reward: failing programs earn -0.3 + 1.3 * pass_ratio."""
    if verdict.status is Status.WRONG_ANSWER:
        return FAIL_REWARD + (PASS_REWARD - FAIL_REWARD) * verdict.pass_ratio
    return coarse_reward(verdict)


# Verdicts whose feedback is IGNORE whatever error they carry.
_NO_SPAN = frozenset({Status.PASSED, Status.WRONG_ANSWER, Status.SANDBOX_ERROR})


def feedback_class(verdict: ExecuteResponse) -> Subtype:
    """GLOBAL, LINE or IGNORE for a program verdict (see the module docstring)."""
    if verdict.status in _NO_SPAN or verdict.error is None:
        return Subtype.IGNORE
    if verdict.error.subtype is Subtype.LINE and verdict.error.line <= 0:
        return Subtype.IGNORE
    return verdict.error.subtype
