"""Python statements in the candidate's coordinates, from coverage.py's static analysis.

slipcover's probes (in the jail) say which lines ran; what a *statement* is, and which lines each
one spans, is coverage.py's answer (its ``PythonParser``, the reference the design names), read
here on the trusted side: the program is parsed as text, never run. A statement spanning several
lines (a call whose arguments continue below, a decorated ``def``'s decorator, a multi-line
``if`` condition) counts as executed on all of its lines, so a client's "lines that did not run"
(executable minus executed) holds only statements that did not run: no ``else:``, comment, blank
line or closing ``])`` of a statement that ran. Exclusion pragmas (``# pragma: no cover``) are
not honoured: a candidate must not be able to hide its own lines.

The whole file (prelude + candidate) is parsed, because a candidate often continues its prelude
(a function body under the prompt's signature) and does not parse alone; statements that start in
the prelude (never probed) are dropped and the rest shifted into candidate coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coverage.exceptions import CoverageException
from coverage.parser import PythonParser


@dataclass(frozen=True)
class Statements:
    """Each candidate line that belongs to a statement -> every candidate line of it."""

    spans: dict[int, frozenset[int]]

    @property
    def executable(self) -> set[int]:
        return set(self.spans)

    def executed(self, probed: Iterable[int]) -> set[int]:
        """The lines of every statement that a probed (candidate) line belongs to. Probes on
        lines outside any statement (a docstring's) are dropped, as coverage.py drops them."""
        return {line for probe in probed for line in self.spans.get(probe, ())}


def candidate_statements(program: str, prelude_lines: int) -> Statements | None:
    """The statements of ``program`` (prelude + candidate, as the harness runs it) on the
    candidate's lines; None for a program coverage.py cannot analyse (one the compiler
    rejects, or one nested past the parser's recursion)."""
    parser = PythonParser(text=program, exclude=None)
    try:
        parser.parse_source()
    except (CoverageException, SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    members: dict[int, set[int]] = {first: {first} for first in parser.statements}
    for line, first in parser.multiline_map.items():
        if first in members:
            members[first].add(line)
    spans: dict[int, frozenset[int]] = {}
    for first, lines in members.items():
        if first <= prelude_lines:  # the prelude is not probed: its statements stay out
            continue
        shifted = frozenset(line - prelude_lines for line in lines)
        for line in shifted:
            spans[line] = shifted
    return Statements(spans=spans)
