"""The engine's admission: at most ``size`` programs run at once, and the others wait in order.

Why not an ``asyncio.Semaphore``: a request that leaves a semaphore wakes the next waiter, whose
task then runs when the event loop reaches it, behind every callback already queued (gRPC's,
other requests'). Measured on a pooled server at concurrency 32 on 2 cores, that wait left each
worker idle for 0.19 ms (median; 0.27 ms mean) between two jobs, some 9 % of its time. Here the
request that leaves runs the next waiter's ``on_admit`` itself, at once: a pooled Python job
sends its program to the worker just given back, and its task, when it runs, finds the job
under way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class Admission(Generic[_T]):
    """First come, first served places. What ``on_admit`` raises reaches the caller it was
    run for (whose place is then given back); ``on_abandon`` must not raise."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: deque[
            tuple[asyncio.Future[_T | None], Callable[[], _T | None], Callable[[_T], None]]
        ] = deque()

    async def enter(
        self,
        on_admit: Callable[[], _T | None] = lambda: None,
        on_abandon: Callable[[_T], None] = lambda _: None,
    ) -> _T | None:
        """Wait for a place, then return what ``on_admit()`` returned when it was given. A
        caller cancelled after its place was given has ``on_abandon`` called with that (if not
        None) and the place passed on."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            try:
                return on_admit()
            except BaseException:
                self.leave()
                raise
        admitted: asyncio.Future[_T | None] = asyncio.get_running_loop().create_future()
        entry = (admitted, on_admit, on_abandon)
        self._waiting.append(entry)
        try:
            return await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():  # given a place as it was cancelled
                started = None if admitted.exception() else admitted.result()
                if started is not None:
                    on_abandon(started)
                self.leave()
            else:  # still waiting, or passed over by leave() for being cancelled
                with contextlib.suppress(ValueError):
                    self._waiting.remove(entry)
            raise
        except Exception:  # on_admit failed: the place was given, and is given back
            self.leave()
            raise

    def leave(self) -> None:
        """Give the place back: to the first caller still waiting, whose ``on_admit`` runs
        now, or to the free places. A caller cancelled while its ``on_admit`` ran has what it
        started abandoned, and the place goes on to the next."""
        while self._waiting:
            admitted, on_admit, on_abandon = self._waiting.popleft()
            if admitted.done():
                continue
            try:
                started = on_admit()
            except Exception as exc:
                if admitted.done():
                    continue
                admitted.set_exception(exc)
                return
            if admitted.done():
                if started is not None:
                    on_abandon(started)
                continue
            admitted.set_result(started)
            return
        self._free += 1
