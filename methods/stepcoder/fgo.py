"""FGO's token mask: train only on tokens of lines the unit tests executed.

StepCoder (arXiv 2402.01391, section 3.3) masks the tokens of code the tests never ran: their
reward says nothing about them. The executed lines come from the sandbox's coverage (union over
tests, in the completion's own coordinates: preludes and CCCS prefixes subtracted), and tokens
are placed on lines by their character offsets (:mod:`kernel.alignment`), never by re-decoding.
A token touching an executed line counts as executed (a ``"\\n    "`` token spans two lines).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from crucible.kernel.alignment import token_mask

EmptyMask = Literal["unmasked", "drop"]


def executed_token_mask(
    offsets: Sequence[tuple[int, int]],
    completion: str,
    executed_lines: Collection[int],
    empty: EmptyMask = "unmasked",
) -> tuple[list[float], bool]:
    """m_t per completion token, and whether the fall-back applied.

    When no token lies on an executed line (a compile error runs nothing) the mask is all ones
    with ``empty="unmasked"`` (the plain PPO loss) or all zeros with ``"drop"``.

    >>> executed_token_mask([(0, 2), (2, 4), (4, 6)], "a\\nb\\nc\\n", [2])
    ([0.0, 1.0, 0.0], False)
    >>> executed_token_mask([(0, 2)], "a\\n", [], "drop")
    ([0.0], True)
    """
    mask = [1.0 if on else 0.0 for on in token_mask(offsets, completion, executed_lines)]
    if any(mask) or not mask:
        return mask, False
    return [1.0 if empty == "unmasked" else 0.0] * len(mask), True
