"""Progress bars on stderr for long work: training steps, SFT, generation, sandbox execution.

Library code reports progress itself (a ``progress: bool`` switch at each entry point) instead
of leaving it to the CLI, so a warm start or an evaluation shows a bar whoever calls it, and a
caller that prints machine-readable output (``--json``) or runs inside another bar turns it off.
Bars go to stderr so stdout stays clean for results; every bar shares one console, so a bar
started while another is live nests under it instead of fighting it for the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

STDERR = Console(stderr=True)


class Bar:
    """One bar: advance it as work finishes. Safe to call from other threads (rich locks)."""

    def __init__(self, progress: Progress, total: int, completed: int) -> None:
        self._progress = progress
        self._task = progress.add_task("", total=total, completed=completed, note="")

    def advance(self, amount: int = 1, *, note: str | None = None) -> None:
        """Count ``amount`` more units done; ``note`` replaces the text after the bar."""
        self.update(advance=amount, note=note)

    def update(
        self, *, completed: int | None = None, advance: int | None = None, note: str | None = None
    ) -> None:
        """Set the done count (or add to it) and the text shown after the bar (e.g. a loss)."""
        if note is None:
            self._progress.update(self._task, completed=completed, advance=advance)
        else:
            self._progress.update(self._task, completed=completed, advance=advance, note=note)


@contextmanager
def progress_bar(
    description: str, total: int, *, enabled: bool = True, completed: int = 0
) -> Iterator[Bar]:
    """A bar of ``total`` units labelled ``description`` on stderr. It stays printed when done
    (a log shows what ran and how long it took; where stderr is not a terminal only that final
    state is written). ``enabled=False`` gives a bar that draws nothing, so callers advance it
    unconditionally."""
    progress = Progress(
        TextColumn(f"[bold]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=STDERR,
        disable=not enabled,
    )
    with progress:
        yield Bar(progress, total, completed)
