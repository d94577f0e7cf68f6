"""Token ↔ line alignment: hand-made cases, real tokenizers, and a randomised brute-force check."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import pytest

from crucible.kernel.alignment import line_mask, token_line_spans, token_lines, token_mask
from crucible.kernel.token_text import TokenBytes, decode_with_offsets

MULTIBYTE = "x = 'é'\n# 中文注释\n\ns = \"🙂🚀\"\n    return s  # café\nlast"


def reference_spans(offsets: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Quadratic reference: find terminators with a regex, count those ending at or before i."""
    ends = [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def line_of(i: int) -> int:
        return 1 + sum(1 for end in ends if end <= i)

    spans = []
    for start, end in offsets:
        touched = [line_of(i) for i in range(start, end)] or [line_of(start)]
        spans.append((min(touched), max(touched)))
    return spans


def reference_mask(spans: list[tuple[int, int]], lines: set[int]) -> list[bool]:
    return [any(line in lines for line in range(a, b + 1)) for a, b in spans]


def test_hand_made_tokens_spanning_newlines_and_empty_lines() -> None:
    text = "def f():\n    x = 1\n\n    return x"
    pieces = ["def", " f", "():", "\n   ", " x", " =", " 1", "\n\n   ", " return", " x"]
    offsets, pos = [], 0
    for piece in pieces:
        offsets.append((pos, pos + len(piece)))
        pos += len(piece)
    assert pos == len(text)
    spans = token_line_spans(offsets, text)
    assert spans == [(1, 1), (1, 1), (1, 1), (1, 2), (2, 2), (2, 2), (2, 2), (2, 4), (4, 4), (4, 4)]
    assert token_lines(offsets, text) == [1, 1, 1, 1, 2, 2, 2, 2, 4, 4]
    # Line 3 is empty: only the token that crosses it touches it.
    assert line_mask(spans, {3}) == [False] * 7 + [True, False, False]
    assert token_mask(offsets, text, {2}) == [False] * 3 + [True] * 5 + [False, False]
    assert token_mask(offsets, text, set()) == [False] * len(pieces)
    assert token_mask(offsets, text, {99, 0, -1}) == [False] * len(pieces)


def test_terminators_follow_python_crlf_and_lone_cr() -> None:
    text = "a=1\r\nb=2\rc=3\nd=4"
    offsets = [(i, i + 1) for i in range(len(text))]
    lines = token_lines(offsets, text)
    assert "".join(str(n) for n in lines) == "1111122223333444"
    assert lines[text.index("\r\n") + 1] == 1  # the \n of \r\n ends line 1 too
    # Python's compiler agrees: d=4 is on line 4.
    with pytest.raises(SyntaxError) as info:
        compile(text + "+", "<t>", "exec")
    assert info.value.lineno == 4


def test_empty_spans_and_trailing_text_without_newline() -> None:
    text = "a\nbc"
    offsets = [(0, 2), (2, 4), (4, 4)]  # the last is an eos token: empty span at the end
    assert token_line_spans(offsets, text) == [(1, 1), (2, 2), (2, 2)]
    text_nl = "a\n"
    assert token_line_spans([(0, 2), (2, 2)], text_nl) == [(1, 1), (2, 2)]


def test_text_start_shifts_offsets_into_a_prefixed_program() -> None:
    prefix = "def f(x):\n    if x:"
    completion = "\n        return 1\n    return 2"
    offsets = [(0, 9), (9, 17), (17, 22), (22, len(completion))]
    spans = token_line_spans(offsets, prefix + completion, text_start=len(prefix))
    assert spans == [(2, 3), (3, 3), (3, 4), (4, 4)]
    assert token_mask(offsets, prefix + completion, {4}, text_start=len(prefix)) == [
        False,
        False,
        True,
        True,
    ]


def test_offsets_outside_the_text_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"token 1 span \(3, 9\)"):
        token_line_spans([(0, 3), (3, 9)], "abcdef")
    with pytest.raises(ValueError, match="outside"):
        token_line_spans([(2, 1)], "abcdef")


def test_random_texts_match_the_quadratic_reference() -> None:
    rng = random.Random(20240611)
    alphabet = ["a", "b", " ", "é", "中", "🙂", "\n", "\r", "\r\n", "\t"]
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, rng.randint(1, 12))))
        offsets = list(zip([0, *cuts], [*cuts, len(text)], strict=True))
        # Add shared characters (split multi-byte chars) and empty spans, as real offsets have.
        offsets += [(i, i) for i in rng.sample(range(len(text) + 1), k=min(2, len(text) + 1))]
        offsets.sort()
        spans = token_line_spans(offsets, text)
        assert spans == reference_spans(offsets, text), (text, offsets)
        assert token_lines(offsets, text) == [a for a, _ in spans]
        lines = {rng.randint(0, 8) for _ in range(rng.randint(0, 4))}
        assert line_mask(spans, lines) == reference_mask(spans, lines), (text, offsets, lines)


def check_tokenizer_offsets(tokenizer: Any, text: str) -> None:
    """The tokenizer's own offsets and decode_with_offsets agree, and lines are right."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, hf_offsets = encoded["input_ids"], [tuple(o) for o in encoded["offset_mapping"]]
    decoded, offsets = decode_with_offsets(TokenBytes(tokenizer), ids)
    assert decoded == text
    assert offsets == hf_offsets
    spans = token_line_spans(offsets, text)
    assert spans == reference_spans(offsets, text)
    # Every token that carries part of a multi-byte character lies on that character's line.
    present = [char for char in "é中🙂🚀" if char in text]
    assert present
    for char in present:
        index = text.index(char)
        owners = [i for i, (s, e) in enumerate(offsets) if s <= index < e]
        assert owners, char
        expected = text[:index].count("\n") + 1
        assert all(spans[i] == (expected, expected) for i in owners), char
    # Spans tile the text: each starts where the last ended, or shares the last's split character.
    assert offsets[0][0] == 0 and offsets[-1][1] == len(text)
    for (s1, e1), (s2, e2) in itertools.pairwise(offsets):
        assert s2 == e1 or (s2, e2) == (s1, e1) or s2 == e1 - 1, (s1, e1, s2, e2)


@pytest.mark.train  # the tiny model's tokenizer
def test_tiny_tokenizer_offsets_on_multibyte_text(tiny_tokenizer: Any) -> None:
    check_tokenizer_offsets(tiny_tokenizer, MULTIBYTE)
    # The emoji is split over several byte tokens, each covering the whole character.
    encoded = tiny_tokenizer("🚀", add_special_tokens=False, return_offsets_mapping=True)
    assert len(encoded["input_ids"]) > 1
    assert {tuple(o) for o in encoded["offset_mapping"]} == {(0, 1)}


@pytest.mark.slow
@pytest.mark.train  # transformers and the SmolLM2 file
def test_smollm2_tokenizer_offsets_on_multibyte_text() -> None:
    from transformers import AutoTokenizer

    from crucible.kernel.models import resolve_folder

    tokenizer = AutoTokenizer.from_pretrained(resolve_folder("smollm2-135m"))
    check_tokenizer_offsets(tokenizer, MULTIBYTE)
    check_tokenizer_offsets(tokenizer, "def f():\n\t\treturn '🙂'\n\n\n# é中\n")
