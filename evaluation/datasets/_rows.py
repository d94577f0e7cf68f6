"""Reading dataset files row by row, with errors that name the file, the row and the key."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from crucible.evaluation.tasks import Task

T = TypeVar("T")


class DatasetFormatError(ValueError):
    """A dataset file whose content does not have the published shape."""


@dataclass(frozen=True)
class Row:
    """One record of a dataset file and where it came from (for error messages)."""

    where: str
    data: dict[str, Any]

    def error(self, message: str) -> DatasetFormatError:
        return DatasetFormatError(f"{self.where}: {message}")

    def get(self, key: str, kind: type[T]) -> T:
        """The value of a required key, checked to be of ``kind``."""
        if key not in self.data:
            raise self.error(f"missing key {key!r}")
        return self._typed(key, self.data[key], kind)

    def optional(self, key: str, kind: type[T], default: T) -> T:
        """The value of an optional key; ``default`` when absent or null."""
        value = self.data.get(key)
        return default if value is None else self._typed(key, value, kind)

    def json_field(self, key: str, kind: type[T]) -> T:
        """A required key holding either a JSON document as a string (the HF exports of APPS do
        this) or the decoded value itself."""
        value = self.get(key, object)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise self.error(f"key {key!r} is not valid JSON: {exc.msg}") from None
        return self._typed(key, value, kind)

    def task(self, **fields: Any) -> Task:
        """Build a Task, reporting invalid field values against this row."""
        try:
            return Task(**fields)
        except ValidationError as exc:
            raise self.error(f"cannot build a task: {exc}") from None

    def _typed(self, key: str, value: object, kind: type[T]) -> T:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"key {key!r} should be {kind.__name__}, not {type(value).__name__}")
        return value


def _open_text(path: Path) -> str:
    if not path.is_file():
        raise DatasetFormatError(f"{path}: no such file")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8")


def _as_row(where: str, value: object) -> Row:
    if not isinstance(value, dict):
        raise DatasetFormatError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return Row(where, value)


def read_jsonl(path: Path) -> list[Row]:
    """Rows of a JSON-lines file (optionally gzipped); blank lines are skipped."""
    rows = []
    for number, line in enumerate(_open_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetFormatError(f"{where}: invalid JSON: {exc.msg}") from None
        rows.append(_as_row(where, value))
    return rows


def read_json_list(path: Path) -> list[Row]:
    """Rows of a file holding one JSON array of objects."""
    try:
        value = json.loads(_open_text(path))
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(value, list):
        raise DatasetFormatError(f"{path}: expected a JSON array of problems")
    return [_as_row(f"{path}[{index}]", item) for index, item in enumerate(value)]


def read_records(path: Path) -> list[Row]:
    """Rows of a ``.json`` array or a ``.jsonl``/``.jsonl.gz`` file, chosen by suffix."""
    return read_json_list(path) if path.suffix == ".json" else read_jsonl(path)
