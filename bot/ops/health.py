"""Liveness and readiness of a running bot, as (ok, details) pairs for the probes.

Owns what "alive" and "ready" mean. Alive (`/healthz`): the process answers and its engine is
not dead or stalled (a restart is the cure for either). Ready (`/readyz`): alive, and the
store answers a query, and the Slack connection is up (Socket Mode's socket; HTTP mode has no
connection to lose). Each check is cheap enough to run on every probe, and bounded: a store
that does not answer within STORE_TIMEOUT_S is "not ready", and while that query still hangs
(on its own daemon thread) no second one is started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from bot.services import BotServices

logger = logging.getLogger(__name__)

Probe = tuple[bool, dict[str, Any]]
STORE_TIMEOUT_S = 2.0


class Health:
    """The probes of one bot; `slack_connected` is None in HTTP mode."""

    def __init__(
        self, services: BotServices, slack_connected: Callable[[], bool] | None = None
    ) -> None:
        self.services = services
        self.slack_connected = slack_connected
        self._store_check: Future[tuple[bool, str]] | None = None
        self._lock = threading.Lock()

    def live(self) -> Probe:
        engine = self.services.engine
        stats = engine.stats()
        alive = engine.is_alive and stats.unhealthy_reason is None
        details: dict[str, Any] = {
            "engine_alive": alive,
            "running": stats.running,
            "queued": stats.queued,
            "answers_in_flight": self.services.pool.active,
        }
        if stats.unhealthy_reason:
            details["engine_problem"] = stats.unhealthy_reason
        return alive, details

    def ready(self) -> Probe:
        alive, details = self.live()
        store_ok, store_problem = self._store()
        details["store"] = "ok" if store_ok else store_problem
        slack_ok = True
        if self.slack_connected is not None:
            slack_ok = _check(self.slack_connected)
            details["slack_socket"] = "connected" if slack_ok else "disconnected"
        else:
            details["slack_socket"] = "http mode"
        return alive and store_ok and slack_ok, details

    def _store(self) -> tuple[bool, str]:
        with self._lock:
            if self._store_check is not None and not self._store_check.done():
                return False, "not answering (the last check is still waiting)"
            check: Future[tuple[bool, str]] = Future()
            self._store_check = check
        threading.Thread(target=self._query, args=(check,), name="readyz", daemon=True).start()
        try:
            return check.result(STORE_TIMEOUT_S)
        except FutureTimeout:
            return False, f"not answering within {STORE_TIMEOUT_S:.0f} s"

    def _query(self, check: Future[tuple[bool, str]]) -> None:
        check.set_result(self._select_one())

    def _select_one(self) -> tuple[bool, str]:
        started = time.monotonic()
        try:
            with self.services.store.begin() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as err:  # any failure is "not ready", said in one line
            logger.warning("readiness: the store did not answer (%s)", err.__class__.__name__)
            return False, f"unreachable ({err.__class__.__name__})"
        return True, f"ok in {(time.monotonic() - started) * 1000:.0f} ms"


def _check(probe: Callable[[], bool]) -> bool:
    try:
        return bool(probe())
    except Exception:
        return False
