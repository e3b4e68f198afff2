"""waitress, guarded against clients that send slowly on purpose.

waitress closes a connection only when it has been *idle* for `channel_timeout`; a client
sending one header byte a second is never idle, and 1,000 of them fill `connection_limit`,
after which waitress stops accepting and Slack's deliveries and the health probe wait
outside. Two rules on waitress's event loop close that hole:

* **a deadline per request**: a request must arrive whole (headers and body) within
  `request_timeout_s` of its first byte (of the connection's opening, for the first one);
  a connection past it is closed, however busy it keeps itself;
* **a reserve of free connections**: when open connections reach `limit - reserve`, the
  oldest unfinished requests (then the longest-idle connections) are closed to make room, so
  the server never stops accepting; a real request (Slack's, the probe's) arrives in
  milliseconds and is served before it could be among the oldest unfinished.

A request being served by a worker thread is never closed by either rule.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

logger = logging.getLogger(__name__)

SWEEP_EVERY_S = 0.25
LOG_EVERY_S = 10.0


class GuardedChannel(HTTPChannel):  # type: ignore[misc]
    """An HTTPChannel that knows since when its current request has been arriving."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_since: float | None = time.monotonic()  # the first request's clock

    def received(self, data: bytes) -> bool:
        if data and self.request is None and self.pending_since is None:
            self.pending_since = time.monotonic()
        result = bool(super().received(data))
        if self.request is None:
            self.pending_since = None  # every request received so far is whole
        return result

    @property
    def in_service(self) -> bool:
        return bool(self.requests)


class GuardedServer(TcpWSGIServer):  # type: ignore[misc]
    """TcpWSGIServer with a per-request deadline and a reserve of free connections."""

    channel_class = GuardedChannel

    def __init__(self, *args: Any, request_timeout_s: float, reserve: int, **kwargs: Any) -> None:
        self.request_timeout_s = request_timeout_s
        self.reserve = reserve
        self.timed_out = 0  # connections closed for taking too long over one request
        self.shed = 0  # connections closed to keep the reserve free
        self._next_sweep = 0.0
        self._next_log = 0.0
        self._logged = (0, 0)
        super().__init__(*args, **kwargs)

    def readable(self) -> bool:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_S
            self._close_overdue(now)
        self._keep_reserve()
        self._log(now)
        return bool(super().readable())

    def _channels(self) -> list[GuardedChannel]:
        return [c for c in self._map.values() if isinstance(c, GuardedChannel)]

    def _close_overdue(self, now: float) -> None:
        cutoff = now - self.request_timeout_s
        for channel in self._channels():
            if channel.will_close or channel.in_service or channel.pending_since is None:
                continue
            if _started(channel) < cutoff:
                channel.will_close = True  # closed by this loop pass (writable() says so)
                self.timed_out += 1

    def _keep_reserve(self) -> None:
        high = self.adj.connection_limit - self.reserve
        channels = [c for c in self._channels() if not c.will_close]
        excess = len(channels) - high + 1
        if excess <= 0:
            return
        candidates = [c for c in channels if not c.in_service]
        pending = sorted((c for c in candidates if c.pending_since is not None), key=_started)
        idle = sorted((c for c in candidates if c.pending_since is None), key=_last_activity)
        for channel in (pending + idle)[:excess]:
            channel.will_close = True
            self.shed += 1

    def _log(self, now: float) -> None:
        if now < self._next_log or (self.timed_out, self.shed) == self._logged:
            return
        self._next_log = now + LOG_EVERY_S
        timed_out = self.timed_out - self._logged[0]
        shed = self.shed - self._logged[1]
        self._logged = (self.timed_out, self.shed)
        logger.warning(
            "HTTP: closed %d connections whose request took over %.0f s to arrive and %d "
            "unfinished ones to keep %d connections free (limit %d)",
            timed_out,
            self.request_timeout_s,
            shed,
            self.reserve,
            self.adj.connection_limit,
        )


def _started(channel: GuardedChannel) -> float:
    since = channel.pending_since
    return since if since is not None else float("inf")


def _last_activity(channel: GuardedChannel) -> float:
    return float(channel.last_activity)
