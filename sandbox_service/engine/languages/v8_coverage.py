"""Executed lines of a script from V8's block coverage (``NODE_V8_COVERAGE``).

V8 reports, per function, nested ranges of UTF-16 offsets with execution counts: the function's
whole extent first, then blocks (branches, code after a ``return``). The innermost range holding
a character gives that character's count. A line counts as executed when any character of code
on it ran; blank lines and lines holding only a comment are never counted (a comment inside an
executed function would otherwise be).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from crucible.sandbox_service.engine.languages.base import holds_code


def script_functions(collected: dict[str, str], filename: str) -> list[dict[str, Any]]:
    """The function entries of every coverage file's script named ``filename`` (base name)."""
    functions: list[dict[str, Any]] = []
    for text in collected.values():
        try:
            report = json.loads(text)
        except ValueError:
            continue
        for script in report.get("result", []) if isinstance(report, dict) else []:
            url = str(script.get("url", ""))
            if PurePosixPath(url.removeprefix("file://")).name == filename:
                functions += script.get("functions", [])
    return functions


def executed_lines(text: str, functions: list[dict[str, Any]]) -> set[int]:
    """1-based lines of ``text`` that executed, by the rule in the module docstring."""
    units = text.encode("utf-16-le")
    size = len(units) // 2
    counts = [0] * size
    ranges = [
        (int(block["startOffset"]), int(block["endOffset"]), int(block["count"]))
        for function in functions
        for block in function.get("ranges", [])
    ]
    # Paint outer ranges first so that inner ones (shorter) win.
    for start, end, count in sorted(ranges, key=lambda r: r[1] - r[0], reverse=True):
        start, end = max(0, start), min(size, end)
        if start < end:
            counts[start:end] = [count] * (end - start)
    executed: set[int] = set()
    offset = 0
    for number, line in enumerate(text.split("\n"), 1):
        width = len(line.encode("utf-16-le")) // 2
        if holds_code(line):
            position = offset
            for char in line:
                if not char.isspace() and position < size and counts[position] > 0:
                    executed.add(number)
                    break
                position += len(char.encode("utf-16-le")) // 2
        offset += width + 1
    return executed
