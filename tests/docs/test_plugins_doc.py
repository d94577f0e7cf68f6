"""docs/plugins.md quotes the example plugin; every quoted block must still be in its file, so the
walk-through cannot drift from the code that ``tests/methods/test_reinforce.py`` runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "plugins.md"
QUOTE = re.compile(r"<!-- from: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)```", re.DOTALL)


def _quotes() -> list[tuple[str, str]]:
    return [(match["path"], match["code"]) for match in QUOTE.finditer(DOC.read_text())]


def test_the_walkthrough_quotes_every_file_of_the_plugin() -> None:
    quoted = {path for path, _ in _quotes()}
    assert {
        "methods/reinforce/config.py",
        "methods/reinforce/loss.py",
        "methods/reinforce/plugin.py",
        "pyproject.toml",
        "tests/methods/test_reinforce.py",
    } <= quoted


@pytest.mark.parametrize(("path", "code"), _quotes(), ids=lambda value: str(value)[:40])
def test_each_quoted_block_is_verbatim_in_its_file(path: str, code: str) -> None:
    assert code in (ROOT / path).read_text(), f"docs/plugins.md quotes {path} but it changed"
