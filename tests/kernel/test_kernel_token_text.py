"""Exact text and offsets of generated (not necessarily canonical) token sequences."""

from __future__ import annotations

import random
from typing import Any

import pytest

pytest.importorskip("transformers", reason="needs the train extra")

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from crucible.kernel.token_text import TokenBytes, UnsupportedTokenizerError, decode_with_offsets

pytestmark = pytest.mark.train


def wrap(tokenizer: Tokenizer) -> Any:
    fast: Any = PreTrainedTokenizerFast
    return fast(tokenizer_object=tokenizer)


def test_random_id_sequences_decode_like_the_tokenizer(tiny_tokenizer: Any) -> None:
    table = TokenBytes(tiny_tokenizer)
    special = set(tiny_tokenizer.all_special_ids)
    ordinary = [i for i in range(len(tiny_tokenizer)) if i not in special]
    rng = random.Random(7)
    for _ in range(200):
        ids = [rng.choice(ordinary) for _ in range(rng.randint(0, 30))]
        text, offsets = decode_with_offsets(table, ids)
        assert text == tiny_tokenizer.decode(ids, clean_up_tokenization_spaces=False)
        assert len(offsets) == len(ids)
        # Linear-time offsets equal what decoding each prefix would give (the quadratic way),
        # wherever a prefix ends on a character boundary.
        for k in range(1, len(ids) + 1):
            prefix = tiny_tokenizer.decode(ids[:k], clean_up_tokenization_spaces=False)
            if "\ufffd" not in prefix:  # no bytes pending: the token ends where the prefix does
                assert offsets[k - 1][1] == len(prefix)


def test_a_non_canonical_split_keeps_the_generated_tokens(tiny_tokenizer: Any) -> None:
    """A sampled sequence may split text differently from encode(); its offsets stay exact."""
    table = TokenBytes(tiny_tokenizer)
    pieces = ["re", "t", "u", "rn", "\n", " ", " "]
    ids = tiny_tokenizer.convert_tokens_to_ids(
        [p.replace("\n", "Ċ").replace(" ", "Ġ") for p in pieces]
    )
    assert tiny_tokenizer.unk_token_id not in ids and None not in ids
    text, offsets = decode_with_offsets(table, ids)
    assert text == "return\n  "
    assert offsets == [(0, 2), (2, 3), (3, 4), (4, 6), (6, 7), (7, 8), (8, 9)]
    assert tiny_tokenizer(text, add_special_tokens=False)["input_ids"] != ids


def test_split_characters_are_shared_and_truncated_bytes_are_replaced(tiny_tokenizer: Any) -> None:
    table = TokenBytes(tiny_tokenizer)
    emoji = tiny_tokenizer("a🚀b", add_special_tokens=False)["input_ids"]
    text, offsets = decode_with_offsets(table, emoji)
    assert text == "a🚀b"
    assert offsets[0] == (0, 1) and offsets[-1] == (2, 3)
    assert set(offsets[1:-1]) == {(1, 2)}
    # Stop in the middle of the emoji: the missing bytes decode to U+FFFD, owned by the tokens.
    cut = emoji[:-2]
    text, offsets = decode_with_offsets(table, cut)
    assert text == "a\ufffd"
    assert offsets[0] == (0, 1) and all(o == (1, 2) for o in offsets[1:])


def test_special_tokens_decode_to_their_text(tiny_tokenizer: Any) -> None:
    table = TokenBytes(tiny_tokenizer)
    ids = [tiny_tokenizer.convert_tokens_to_ids("<|im_start|>"), *tiny_tokenizer("x")["input_ids"]]
    text, offsets = decode_with_offsets(table, ids)
    assert text == "<|im_start|><s>x"
    assert offsets == [(0, 12), (12, 15), (15, 16)]
    assert table[10**9] == b"" and table[-1] == b""


def test_sentencepiece_style_vocabularies_are_supported() -> None:
    vocab = {f"<0x{b:02X}>": b for b in range(256)} | {"▁a": 256, "b": 257, "▁": 258}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], byte_fallback=True))
    backend.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    table = TokenBytes(wrap(backend))
    text, offsets = decode_with_offsets(table, [256, 0xC3, 0xA9, 258, 257])
    assert text == " aé b"  # the leading space is kept: a completion continues its prompt
    assert offsets == [(0, 2), (2, 3), (2, 3), (3, 4), (4, 5)]


def test_unknown_vocabulary_families_are_refused_up_front() -> None:
    backend = Tokenizer(models.WordPiece(vocab={"[UNK]": 0, "a": 1, "##b": 2}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece()
    with pytest.raises(UnsupportedTokenizerError, match=r"decoder types \['WordPiece'\]"):
        TokenBytes(wrap(backend))
    with pytest.raises(UnsupportedTokenizerError, match="not a fast tokenizer"):
        TokenBytes(object())
