"""RLTF's multi-granularity feedback as pure functions: program reward, penalty span, returns.

- Coarse: compile error −1, runtime error or timeout −0.6, some test fails −0.3, pass +1
  (:func:`kernel.rewards.coarse_reward`).
- Adaptive: a failing program earns −0.3 + 1.3 · pass_ratio
  (:func:`kernel.rewards.adaptive_reward`).
- Fine-grained: the sandbox classifies the error that decided the verdict
  (:func:`kernel.rewards.feedback_class`): GLOBAL penalises every completion token, LINE the
  tokens of the failing line, IGNORE none.
- Per-token return: r_t = R(program) − penalty · m_t − R(greedy baseline), the critic weight of
  the paper being 1 (no critic model).
"""

from __future__ import annotations

from collections.abc import Sequence

from crucible.kernel.alignment import token_mask
from crucible.kernel.rewards import adaptive_reward, coarse_reward, feedback_class
from crucible.sandbox_service.models import ExecuteResponse, Subtype


def program_reward(verdict: ExecuteResponse, adaptive: bool) -> float:
    """R(verdict): the coarse table, or its adaptive variant for failing programs."""
    return adaptive_reward(verdict) if adaptive else coarse_reward(verdict)


def penalty_span(
    verdict: ExecuteResponse, offsets: Sequence[tuple[int, int]], completion: str
) -> list[bool]:
    """m_t: which completion tokens the fine-grained penalty falls on. LINE marks every token
    touching the failing line (:func:`kernel.alignment.token_mask`)."""
    kind = feedback_class(verdict)
    if kind is Subtype.GLOBAL:
        return [True] * len(offsets)
    if kind is Subtype.LINE:
        assert verdict.error is not None
        return token_mask(offsets, completion, [verdict.error.line])
    return [False] * len(offsets)


def token_returns(
    reward: float, baseline: float, span: Sequence[bool], penalty: float
) -> list[float]:
    """r_t = reward − penalty · m_t − baseline for every completion token.

    >>> token_returns(-0.5, -1.0, [False, True], 0.25)
    [0.5, 0.25]
    """
    return [reward - (penalty if marked else 0.0) - baseline for marked in span]
