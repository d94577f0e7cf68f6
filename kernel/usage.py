"""What a process spent on generation and execution: one meter every sampler and sandbox handle
adds to.

Budgets and cost breakdowns must count the same things for every method, online or offline, and
offline methods build their own samplers inside ``fit``. So the accounting lives where the work
happens (:class:`~kernel.sampler.Sampler` and :class:`~kernel.sandbox.SandboxHandle`) and adds to
one process-wide meter, like a metrics registry; a caller measures a stretch of work as the
difference of two :func:`snapshot` calls.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Usage:
    """Totals since the process started (or, from :meth:`minus`, over a stretch of work)."""

    completions: int = 0
    generated_tokens: int = 0
    generation_s: float = 0.0
    sandbox_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def minus(self, earlier: Usage) -> Usage:
        """The usage between ``earlier`` and this snapshot."""
        return self._combine(earlier, -1)

    def plus(self, other: Usage) -> Usage:
        """Both stretches of work together."""
        return self._combine(other, 1)

    def _combine(self, other: Usage, sign: int) -> Usage:
        statuses = Counter(self.statuses)
        for key, value in other.statuses.items():
            statuses[key] += sign * value
        return Usage(
            completions=self.completions + sign * other.completions,
            generated_tokens=self.generated_tokens + sign * other.generated_tokens,
            generation_s=self.generation_s + sign * other.generation_s,
            sandbox_s=self.sandbox_s + sign * other.sandbox_s,
            statuses={key: value for key, value in statuses.items() if value},
        )


class _Meter:
    """Thread-safe totals: verdicts arrive on the sandbox's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._completions = 0
        self._tokens = 0
        self._generation_s = 0.0
        self._sandbox_s = 0.0
        self._statuses: Counter[str] = Counter()

    def generated(self, completions: int, tokens: int, seconds: float) -> None:
        with self._lock:
            self._completions += completions
            self._tokens += tokens
            self._generation_s += seconds

    def waited_for_sandbox(self, seconds: float) -> None:
        with self._lock:
            self._sandbox_s += seconds

    def verdict(self, status: str) -> None:
        with self._lock:
            self._statuses[status] += 1

    def snapshot(self) -> Usage:
        with self._lock:
            return Usage(
                completions=self._completions,
                generated_tokens=self._tokens,
                generation_s=self._generation_s,
                sandbox_s=self._sandbox_s,
                statuses=dict(self._statuses),
            )


METER = _Meter()


def snapshot() -> Usage:
    """The process's totals now."""
    return METER.snapshot()
