"""Time as Slack's timers see it: wall-clock by default, or a FakeClock that tests move by hand.

Everything Slack times (ack deadlines, retry schedules, response_url and trigger_id expiry,
stream TTL, assistant status timeout) reads `clock.now()` and waits with `await clock.sleep()`.
Real network timeouts, `inject(delay=...)` and request-signing timestamps use real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

T = TypeVar("T")
Sleeper = tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future[None]]


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, deadline: float) -> None: ...


class RealClock:
    """Wall-clock time; the default for the demo."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.time()))


class FakeClock:
    """A clock that only moves when `advance()` is called (thread-safe, any thread).

    Sleepers are woken on their own event loop once the clock passes their deadline.
    It starts at the current wall-clock time so that `ts` values look like real ones.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._sleepers: list[Sleeper] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)

    async def sleep_until(self, deadline: float) -> None:
        """Wait until the clock reaches `deadline` (at once if it already has)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if deadline <= self._now:
                future.set_result(None)
            else:
                heapq.heappush(self._sleepers, (deadline, next(self._order), loop, future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            due = []
            while self._sleepers and self._sleepers[0][0] <= self._now:
                due.append(heapq.heappop(self._sleepers))
        for _, _, loop, future in due:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)

    @property
    def num_sleepers(self) -> int:
        with self._lock:
            return sum(1 for *_, future in self._sleepers if not future.done())


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def race_clock(
    awaitable: Awaitable[T], clock: Clock, seconds: float
) -> tuple[bool, T | None]:
    """(True, result) if `awaitable` finishes within `seconds` on `clock`, else (False, None).

    NOTE: the deadline is fixed when this is called, not when the timer task first runs, so a
    FakeClock advanced in between still counts from the moment of the call.
    """
    deadline = clock.now() + seconds
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep_until(deadline))
    try:
        done, _ = await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()
    if task in done and not task.cancelled():
        return True, task.result()
    return False, None
