"""Pacing for Slack's posting limit: about one new message per second per channel.

A token bucket per channel with a small burst; callers reserve a slot and sleep outside the
lock until it comes. A bucket is forgotten once it would have refilled (it then equals a new
one), and at most MAX_CHANNELS are held. Edits are throttled per message by the reply writers,
not here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TLRUCache

MAX_CHANNELS = 10_000


class ChannelPacer:
    """wait(channel_id) returns when a new message may be posted there."""

    def __init__(
        self,
        per_second: float = 1.0,
        burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval_s = 1.0 / per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # channel -> (tokens, as of), dropped when full again
        self._buckets: TLRUCache[str, tuple[float, float]] = TLRUCache(
            MAX_CHANNELS, self._refilled_at, timer=clock
        )

    def tracked(self) -> int:
        """How many channels have a bucket that is not full (the rest are forgotten)."""
        with self._lock:
            self._buckets.expire()
            return len(self._buckets)

    def _refilled_at(self, _channel: str, bucket: tuple[float, float], now: float) -> float:
        tokens, _ = bucket
        return now + (self.burst - tokens) * self.interval_s

    def reserve(self, channel_id: str) -> float:
        """Take the next slot; returns how long to wait before using it."""
        with self._lock:
            now = self._clock()
            tokens, since = self._buckets.get(channel_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - since) / self.interval_s)
            tokens -= 1.0
            self._buckets[channel_id] = (tokens, now)
            return 0.0 if tokens >= 0 else -tokens * self.interval_s

    def wait(self, channel_id: str) -> None:
        delay = self.reserve(channel_id)
        if delay > 0:
            self._sleep(delay)
