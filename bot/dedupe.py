"""Exactly-once admission: a TTL set of keys already claimed (event ids, (channel, ts) pairs).

Slack redelivers on timeouts and reconnects and sends a channel mention twice (`app_mention`
and `message`); every path that could answer a message claims its keys here first, and only
the first claim wins. In memory, per process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

DEFAULT_TTL_S = 2 * 60 * 60  # Slack stops retrying well within this
MAX_KEYS = 100_000


class SeenKeys:
    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[Hashable, float] = OrderedDict()

    def claim(self, *keys: Hashable | None) -> bool:
        """True if none of the keys was claimed before (they all are now); None keys are
        ignored. Atomic: two threads claiming overlapping keys cannot both win."""
        wanted = [k for k in keys if k is not None]
        with self._lock:
            now = self._clock()
            self._expire(now)
            if any(k in self._seen for k in wanted):
                for key in wanted:
                    self._seen.setdefault(key, now)
                return False
            for key in wanted:
                self._seen[key] = now
            return True

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            self._expire(self._clock())
            return key in self._seen

    def _expire(self, now: float) -> None:
        while self._seen and (
            len(self._seen) > self.max_keys or now - next(iter(self._seen.values())) > self.ttl_s
        ):
            self._seen.popitem(last=False)
