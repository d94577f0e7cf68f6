"""Exact text and per-token character offsets of a *generated* token-id sequence.

A tokenizer's offset mapping describes how it would tokenize a text, but a sampled completion need
not be the tokenizer's own (canonical) tokenization of its text: re-encoding it can give different
tokens, so its offsets would belong to tokens the model never produced. Re-decoding every prefix
would be exact but quadratic. Instead this module reads each token's raw bytes from the
tokenizer's vocabulary once and decodes a sequence in one pass, which gives the text and, for
every token, the characters it produced, in linear time.

Two vocabulary families are understood, which covers the code models in use: byte-level BPE
(GPT-2 style: SmolLM2, Llama 3, Qwen, DeepSeek-Coder, StarCoder and the tiny test model) and
SentencePiece-style vocabularies with ``▁`` for spaces and ``<0xNN>`` byte fallback (Llama 2,
CodeLlama). Anything else raises :class:`UnsupportedTokenizerError` when the table is built, not
halfway through training.

Offset rule (the one HF fast tokenizers follow for byte-level BPE): offsets are character indices
into the decoded text, consecutive tokens' spans are contiguous, and a token holding only some
bytes of a multi-byte character covers that whole character, so several tokens may share one
character (e.g. an emoji split over three tokens: each gets the emoji's span). Text is decoded
from UTF-8 with ``errors="replace"``, as ``tokenizer.decode`` does for byte-level vocabularies.
Unlike ``decode``, no space clean-up or leading-space stripping is applied: a completion is a
continuation of its prompt, and its first space is real.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["TokenBytes", "UnsupportedTokenizerError", "decode_with_offsets"]


class UnsupportedTokenizerError(ValueError):
    """The tokenizer's vocabulary cannot be mapped to bytes (not byte-level or SentencePiece)."""


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode``: printable stand-in character → byte value."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _decoder_types(spec: dict[str, Any] | None) -> set[str]:
    if spec is None:
        return set()
    if spec.get("type") == "Sequence":
        found: set[str] = set()
        for sub in spec.get("decoders", []):
            found |= _decoder_types(sub)
        return found
    return {str(spec.get("type"))}


class TokenBytes:
    """The raw bytes of every token id of one tokenizer, built once.

    ``tokenizer`` is a transformers fast tokenizer (anything with ``backend_tokenizer``). Added
    and special tokens map to the UTF-8 of their content. Ids beyond the vocabulary (models whose
    embedding matrix is padded past the tokenizer) map to no bytes.
    """

    def __init__(self, tokenizer: Any) -> None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise UnsupportedTokenizerError(
                f"{type(tokenizer).__name__} is not a fast tokenizer; load it with use_fast=True"
            )
        spec = json.loads(backend.to_str())
        kinds = _decoder_types(spec.get("decoder"))
        vocab: dict[str, int] = backend.get_vocab(with_added_tokens=False)
        if "ByteLevel" in kinds:
            decoder = _byte_decoder()

            def to_bytes(token: str) -> bytes:
                if all(c in decoder for c in token):
                    return bytes(decoder[c] for c in token)
                return token.encode("utf-8")

        elif kinds & {"Metaspace", "ByteFallback", "Replace"}:

            def to_bytes(token: str) -> bytes:
                if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
                    return bytes([int(token[3:5], 16)])
                return token.replace("▁", " ").encode("utf-8")

        else:
            raise UnsupportedTokenizerError(
                f"cannot map tokens to bytes for decoder types {sorted(kinds) or ['none']}; "
                "supported: byte-level BPE and SentencePiece-style (▁ + <0xNN>) vocabularies"
            )
        added = {int(a["id"]): str(a["content"]) for a in spec.get("added_tokens", [])}
        size = max([*vocab.values(), *added.keys(), -1]) + 1
        table = [b""] * size
        for token, index in vocab.items():
            table[index] = to_bytes(token)
        for index, content in added.items():
            table[index] = content.encode("utf-8")
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, token_id: int) -> bytes:
        if 0 <= token_id < len(self._table):
            return self._table[token_id]
        return b""


def decode_with_offsets(
    token_bytes: TokenBytes, ids: Sequence[int]
) -> tuple[str, list[tuple[int, int]]]:
    """Decode ``ids`` to text and each token's ``(start, end)`` character span, in one pass.

    See the module docstring for the offset rule. ``text[start:end]`` of consecutive tokens tile
    the text, apart from characters shared by tokens that split a multi-byte character.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces: list[str] = []
    offsets: list[tuple[int, int]] = []
    pos = 0
    for token_id in ids:
        raw = token_bytes[token_id]
        start = pos  # a character completed by this token and begun by the last one is shared
        piece = decoder.decode(raw)
        pos += len(piece)
        # Bytes left pending begin the character at index ``pos``; the token covers it too.
        end = pos + 1 if raw and decoder.getstate()[0] else pos
        pieces.append(piece)
        offsets.append((start, end))
    tail = decoder.decode(b"", final=True)  # an incomplete last character becomes U+FFFD
    if tail:
        pieces.append(tail)
        total = pos + len(tail)
        offsets = [(s, total if e > pos else e) for s, e in offsets]
    return "".join(pieces), offsets
