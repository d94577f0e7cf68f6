"""Map completion tokens onto source lines, in linear time, from character offsets.

FGO (StepCoder) masks the tokens of code the unit tests did not run, and RLTF penalises the
tokens of the line an error points at; both need "which line(s) does token t lie on". The
answer comes from each token's character span (:attr:`kernel.sampler.Sample.offsets`, or a fast
tokenizer's offset mapping), never from re-decoding prefixes.

Line numbers are 1-based and count line terminators the way Python's compiler does: ``\\n``,
``\\r\\n`` (one terminator) and a lone ``\\r``; form feeds and Unicode line separators do not end a
line. A terminator belongs to the line it ends.

Two readings of "the line of a token", both provided:

- :func:`token_lines`: the line where the token *starts*. A token ``"\\n    "`` (newline plus the
  next line's indentation, common in code vocabularies) belongs to the line it ends.
- :func:`token_line_spans`: ``(first_line, last_line)``, every line the token *touches*; the same
  token touches both lines. FGO masks a token only when every line of its span did not run, so
  a token partly on an executed line is trained on. An empty span (an eos token at the end, or a
  token inside a split multi-byte character) lies on the line of its position.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["line_mask", "token_line_spans", "token_lines", "token_mask"]


def _char_lines(text: str) -> list[int]:
    """Line number of every position ``0..len(text)`` (the last one: where text would continue)."""
    lines = [0] * (len(text) + 1)
    line = 1
    for i, char in enumerate(text):
        lines[i] = line
        if char == "\n" or (char == "\r" and text[i + 1 : i + 2] != "\n"):
            line += 1
    lines[len(text)] = line
    return lines


def token_line_spans(
    offsets: Sequence[tuple[int, int]], text: str, text_start: int = 0
) -> list[tuple[int, int]]:
    """``(first_line, last_line)`` touched by each token, 1-based lines of ``text``.

    ``offsets`` are character spans into ``text[text_start:]``: pass the whole program as
    ``text`` and the prefix length as ``text_start`` when the completion continues a prefix
    (CCCS), so line numbers are the program's, as the sandbox reports them.
    """
    line_of = _char_lines(text)
    spans = []
    for index, (start, end) in enumerate(offsets):
        first_char, end_char = start + text_start, end + text_start
        if not 0 <= first_char <= end_char <= len(text):
            raise ValueError(
                f"token {index} span ({start}, {end}) + text_start {text_start} lies outside "
                f"the text of {len(text)} characters"
            )
        first = line_of[first_char]
        spans.append((first, line_of[end_char - 1] if end_char > first_char else first))
    return spans


def token_lines(offsets: Sequence[tuple[int, int]], text: str, text_start: int = 0) -> list[int]:
    """The 1-based line where each token starts (see the module docstring for the rule)."""
    return [first for first, _ in token_line_spans(offsets, text, text_start)]


def line_mask(token_spans: Sequence[tuple[int, int]], lines: Collection[int]) -> list[bool]:
    """True for each token whose ``(first_line, last_line)`` span touches any line in ``lines``.

    Linear in tokens plus lines: a prefix count of marked lines answers each span in O(1), so a
    token spanning many blank lines costs no more than any other.
    """
    top = max((last for _, last in token_spans), default=0)
    marked_upto = [0] * (top + 1)  # marked_upto[k]: marked lines among 1..k
    marked = [False] * (top + 1)
    for line in lines:
        if 1 <= line <= top:
            marked[line] = True
    for k in range(1, top + 1):
        marked_upto[k] = marked_upto[k - 1] + marked[k]
    return [marked_upto[last] > marked_upto[first - 1] for first, last in token_spans]


def token_mask(
    offsets: Sequence[tuple[int, int]],
    text: str,
    lines: Collection[int],
    text_start: int = 0,
) -> list[bool]:
    """True for each token touching any of ``lines``: RLTF's LINE span."""
    return line_mask(token_line_spans(offsets, text, text_start), lines)
