"""The preference-pair file: one JSON object per line, ``prompt``/``chosen``/``rejected`` as trl's
DPOTrainer and ``datasets`` read them, plus provenance columns saying why each pair was made.

Every row has every column (``null`` where a column does not apply), so ``datasets`` infers one
schema for the file: ``Dataset.from_json(path)`` loads it as is. With ``data.chat`` the three
text columns are conversations (lists of role/content messages), trl's conversational format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crucible.methods.codedpo.config import Ranking

Message = dict[str, str]
Text = str | list[Message]
PairType = Literal["correctness", "efficiency"]


def as_prompt(text: str, chat: bool) -> Text:
    """The prompt column: the text the model continues, or a one-message user turn."""
    return [{"role": "user", "content": text}] if chat else text


def as_completion(text: str, chat: bool) -> Text:
    """A chosen/rejected column: the completion, or a one-message assistant turn."""
    return [{"role": "assistant", "content": text}] if chat else text


class PreferencePair(BaseModel):
    """One row of the pairs file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Text
    chosen: Text
    rejected: Text
    problem_id: str
    pair_type: PairType
    ranking: Ranking
    chosen_score: float = Field(description="The ranking's score of the chosen code.")
    rejected_score: float
    chosen_tests_passed: int = Field(description="Tests of the matrix the chosen code passes.")
    rejected_tests_passed: int
    generated_tests: int = Field(description="Distinct parsable generated tests of the prompt.")
    prompt_example_tests: int = Field(
        default=0,
        description="Tests of the matrix taken from the prompt's docstring examples "
        "(the prompt_example_tests ablation); 0 = the pair comes from generated tests alone.",
    )
    trusted_tests: int = Field(description="Tests the top-ranked code passes (timing set).")
    chosen_cpu_ms: float | None = Field(
        default=None, description="Efficiency pairs: best CPU time on the trusted tests."
    )
    rejected_cpu_ms: float | None = None
    chosen_passes_reference: bool | None = Field(
        default=None,
        description="Whether the chosen code passes the dataset's own tests (audit only).",
    )
    rejected_passes_reference: bool | None = None


def write_pairs(path: Path, pairs: Sequence[PreferencePair]) -> None:
    """Write ``pairs`` as JSON lines (every column present in every row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(pair.model_dump_json() + "\n" for pair in pairs), encoding="utf-8")


def read_pairs(path: Path) -> list[PreferencePair]:
    """Read a pairs file; a bad line raises ValueError naming the file, the line and why."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"pairs file {path}: cannot read it ({exc.strerror or exc})") from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pairs.append(PreferencePair.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"pairs file {path} line {number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"pairs file {path} line {number}: {problems}") from None
    return pairs
