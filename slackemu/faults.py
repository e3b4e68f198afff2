"""Fault injection for Web API calls: 429s with Retry-After, error codes, HTTP 5xx, delays and
dropped connections, each for the next N calls of a method (or of every method with "*").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    method: str
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay_s: float = 0.0
    drop_connection: bool = False
    times: int | None = 1  # None: until cleared

    @property
    def changes_response(self) -> bool:
        return self.status != 200 or self.error is not None or self.drop_connection

    def body(self) -> dict[str, object]:
        default = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}
        error = self.error or default.get(self.status, "fatal_error")
        return {"ok": False, "error": error}


class FaultBook:
    """Pending faults; `take()` consumes one use of the first fault matching a method."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
        times: int | None = 1,
    ) -> Fault:
        """Arm a fault. `status=429` defaults `retry_after` to 1 and the error to `ratelimited`."""
        if status is None:
            status = 429 if retry_after is not None else 200
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(method, status, error, retry_after, delay, drop_connection, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*"):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
