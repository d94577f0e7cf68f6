"""FGO's ceiling benchmark on the real path: crucible-steps' references in the real sandbox with
coverage, tiny-steps' real tokenizer, StepCoder's own curriculum and mask.

The first training task, ``grade_at_40``, checks ``score < 0 or score > 100`` before anything
else, and its hidden tests never give such a score: its ``return 'invalid'`` never runs. CCCS's
first stage gives that check in the head, so the completion holds nothing to mask; the whole
program holds that line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="needs the train extra")

from crucible.benchmarks import fgo_ceiling

pytestmark = pytest.mark.train


def test_the_head_holds_the_unexecuted_check_and_the_whole_program_masks_it() -> None:
    report = fgo_ceiling.measure("crucible-steps", "train", "tiny-steps", limit=1, progress=False)
    rows = {row.row: row for row in report.rows}
    assert report.tasks == 1
    assert list(rows) == [
        "stage 1",
        "stage 2",
        "stage 3",
        fgo_ceiling.WHOLE_CANONICAL,
        fgo_ceiling.WHOLE_EVERY,
    ]
    assert rows["stage 1"].masked_tokens == 0
    whole = rows[fgo_ceiling.WHOLE_CANONICAL]
    # "return 'invalid'" less the newline-and-indent token it shares with the executed line
    # above it: a handful of tokens, a minority of the body's.
    assert 0 < whole.masked_tokens < whole.tokens / 2
    assert whole.completions_with_masked_tokens == 1.0
    assert rows["stage 3"] == whole.model_copy(update={"row": "stage 3"})
    # The second reference ("valid = 0 <= score <= 100 / if not valid: ...") has its own
    # unexecuted assignment.
    assert rows[fgo_ceiling.WHOLE_EVERY].completions == 2
    assert rows[fgo_ceiling.WHOLE_EVERY].masked_tokens > whole.masked_tokens


def test_offsets_end_on_the_end_of_sequence_span_as_the_sampler_reports_them() -> None:
    from transformers import AutoTokenizer

    from crucible.kernel.models import resolve_folder
    from crucible.kernel.token_text import TokenBytes

    tokenizer = AutoTokenizer.from_pretrained(resolve_folder("tiny-steps"))
    text = "    if x:\n        return 1\n"
    offsets = fgo_ceiling.token_offsets(tokenizer, TokenBytes(tokenizer), text)
    assert offsets[-1] == (len(text), len(text))
    assert "".join(text[start:end] for start, end in offsets) == text


def test_main_writes_the_table_and_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ceiling"
    monkeypatch.setattr(sys, "argv", ["fgo_ceiling", "--limit", "2", "--out", str(out)])
    fgo_ceiling.main()
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["tasks"] == 2
    assert [row["row"] for row in saved["rows"]][-2:] == [
        fgo_ceiling.WHOLE_CANONICAL,
        fgo_ceiling.WHOLE_EVERY,
    ]
    assert "| whole program, canonical reference | 2 |" in out.with_suffix(".md").read_text()
    assert "| stage 1 |" in capsys.readouterr().out
