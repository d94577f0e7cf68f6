"""FGO's token mask: no credit or blame for code the unit tests did not run.

StepCoder (arXiv 2402.01391, section 3.3) masks the tokens of code the tests never ran: their
reward says nothing about them. "Did not run" is read in statement coordinates, as coverage tools
report missing lines: the verdict's ``executable_lines`` (every line of every statement, a
multi-line statement contributing all of its lines) minus its ``executed_lines`` (a statement
that ran counts on all of its lines). Both are in the completion's own coordinates (preludes and
CCCS prefixes subtracted by the sandbox).

The rule: m_t = 0 for a token that lies *only* on missing lines; every other token keeps
m_t = 1. So tokens of blank lines, comments and non-statement lines (``else:``, ``try:``, the
closing ``])`` of an executed multi-line statement) are never masked, and neither is a token that
touches an executed line (a ``"\\n    "`` token spans the end of one line and the indentation of
the next) or the end-of-sequence token (an empty span where the text ends, after the final
newline on an empty line). Tokens are placed on lines by their character offsets
(:func:`kernel.alignment.token_line_spans`), never by re-decoding.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from crucible.kernel.alignment import token_line_spans

EmptyMask = Literal["unmasked", "drop"]


def fgo_mask(
    offsets: Sequence[tuple[int, int]],
    completion: str,
    executed_lines: Collection[int],
    executable_lines: Collection[int],
    empty: EmptyMask = "unmasked",
) -> tuple[list[float], bool]:
    """m_t per completion token, and whether the fall-back applied.

    When nothing of the completion executed (a compile error runs nothing) the mask is all ones
    with ``empty="unmasked"`` (the plain PPO loss) or all zeros with ``"drop"``. Lines that
    executed without being executable (a language whose tool reports no statements) raise:
    FGO cannot tell dead code from blank lines there.

    >>> text = "if x:\\n    y = 1\\nelse:\\n    # no\\n    y = 2\\n"
    >>> fgo_mask([(0, 6), (6, 16), (16, 22), (22, 31), (31, 41)], text, [1, 2], [1, 2, 5])
    ([1.0, 1.0, 1.0, 1.0, 0.0], False)
    >>> fgo_mask([(0, 2)], "a\\n", [], [], "drop")
    ([0.0], True)
    """
    if not executed_lines:
        return [1.0 if empty == "unmasked" else 0.0] * len(offsets), bool(offsets)
    if not executable_lines:
        raise ValueError(
            "the verdict has executed lines but no executable lines: its language's coverage "
            "tool does not report statements (ListLanguages: capabilities.executable_lines), "
            "so FGO cannot tell unexecuted code from blank lines"
        )
    missing = set(executable_lines) - set(executed_lines)
    return [
        0.0 if all(line in missing for line in range(first, last + 1)) else 1.0
        for first, last in token_line_spans(offsets, completion)
    ], False
