"""Rich renderings of verdicts and languages for people; ``--json`` bypasses all of this."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from crucible.sandbox_service.models import ErrorInfo, ExecuteResponse, Language, Status, TestResult

STATUS_STYLE = {
    Status.PASSED: "bold green",
    Status.WRONG_ANSWER: "bold yellow",
    Status.RUNTIME_ERROR: "bold red",
    Status.COMPILE_ERROR: "bold red",
    Status.TIME_LIMIT_EXCEEDED: "bold magenta",
    Status.MEMORY_LIMIT_EXCEEDED: "bold magenta",
    Status.OUTPUT_LIMIT_EXCEEDED: "bold magenta",
    Status.SANDBOX_ERROR: "bold white on red",
    Status.SKIPPED: "dim",
}
_DETAIL_CHARS = 60
_TRACEBACK_LINES = 12
_MIB = float(1 << 20)


def print_verdict(console: Console, verdict: ExecuteResponse) -> None:
    """Status and pass ratio, a table of tests, the deciding error, and coverage if asked."""
    console.print(_summary(verdict))
    console.print(_tests_table(verdict.tests))
    if verdict.error is not None:
        console.print(error_panel(verdict.error, verdict.status))
    print_coverage(console, verdict)


def print_coverage(console: Console, verdict: ExecuteResponse) -> None:
    """The executed lines, and those that did not run where the language knows them; nothing
    when coverage was not collected."""
    if verdict.coverage_collected:
        console.print(f"[bold]executed lines:[/] {compress_lines(verdict.executed_lines) or '-'}")
        if verdict.executable_lines:
            missing = sorted(set(verdict.executable_lines) - set(verdict.executed_lines))
            console.print(f"[bold]lines not run:[/] {compress_lines(missing) or '-'}")


def print_languages(console: Console, languages: Sequence[Language]) -> None:
    """One row per language with the verdict fields it fills."""
    table = Table("name", "runtime", "suffix", "capabilities", title="languages")
    for language in languages:
        enabled = [name for name, on in language.capabilities.model_dump().items() if on]
        table.add_row(
            language.name,
            language.runtime,
            language.file_suffix,
            ", ".join(name.replace("_", " ") for name in enabled),
        )
    console.print(table)


def compress_lines(lines: Iterable[int]) -> str:
    """``[1, 2, 3, 5, 7, 8]`` -> ``"1-3, 5, 7-8"``."""
    ranges: list[list[int]] = []
    for line in sorted(set(lines)):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1][1] = line
        else:
            ranges.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _styled(status: Status) -> Text:
    return Text(status.value, style=STATUS_STYLE[status])


def _summary(verdict: ExecuteResponse) -> Text:
    text = _styled(verdict.status)
    text.append(
        f"  {verdict.passed_count}/{verdict.test_count} tests passed "
        f"(pass ratio {verdict.pass_ratio:.2f})",
        style="bold",
    )
    text.append(
        f"  ·  {verdict.runtime or 'unknown runtime'}, isolation {verdict.isolation.value}, "
        f"cpu {verdict.cpu_time_ms:.1f} ms, wall {verdict.wall_time_ms:.1f} ms, "
        f"peak {verdict.peak_memory_bytes / _MIB:.1f} MiB",
        style="dim",
    )
    return text


def _tests_table(results: Sequence[TestResult]) -> Table:
    table = Table("#", "name", "status", "cpu ms", "wall ms", "peak MiB", "detail")
    for column in table.columns[3:6]:
        column.justify = "right"
    for result in results:
        table.add_row(
            str(result.index),
            escape(result.name),
            _styled(result.status),
            f"{result.cpu_time_ms:.1f}",
            f"{result.wall_time_ms:.1f}",
            f"{result.peak_memory_bytes / _MIB:.1f}",
            escape(detail_of(result)),
        )
    return table


def detail_of(result: TestResult) -> str:
    """A one-line reason for a test's status: its error, or expected versus actual output."""
    if result.error is not None:
        where = f" (line {result.error.line})" if result.error.line else ""
        first_line = result.error.message.strip().splitlines()[:1]
        text = f"{result.error.type}{where}: {first_line[0] if first_line else ''}"
    elif result.status is Status.WRONG_ANSWER and (result.expected or result.actual):
        text = f"expected {result.expected!r}, got {result.actual!r}"
    else:
        text = ""
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def error_panel(error: ErrorInfo, status: Status) -> Panel:
    where = [f"subtype {error.subtype.value}"]
    if error.line:
        where.append(f"line {error.line}")
    if error.test_index >= 0:
        where.append(f"test {error.test_index}")
    parts: list[RenderableType] = [
        Text.assemble((error.type or "error", "bold"), f" ({', '.join(where)})"),
        Text(error.message),
    ]
    if error.traceback.strip():
        lines = error.traceback.rstrip().splitlines()
        if len(lines) > _TRACEBACK_LINES:
            lines = ["…", *lines[-_TRACEBACK_LINES:]]
        parts.append(Text("\n".join(lines), style="dim"))
    return Panel(Group(*parts), title=status.value, border_style=STATUS_STYLE[status].split()[-1])
