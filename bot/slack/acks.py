"""Which slash-command acks have reached Slack.

Over Socket Mode a command's ack (which may carry the private "Thinking…" message) is sent
after the listener returns, so an answer that replaces that message must not post before it
has gone out. The listener watches the command's `trigger_id`; the Socket Mode layer reports
each ack it has sent. Without such a layer (HTTP mode) the ack is taken as sent when made.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from cachetools import TTLCache

WATCH_TTL_S = 60.0  # an ack is sent within Slack's 3 s or not at all


class AckReceipts:
    def __init__(self) -> None:
        self.confirmed_by_transport = False  # set when a Socket Mode layer reports sends
        self._watching: TTLCache[str, threading.Event] = TTLCache(10_000, WATCH_TTL_S)
        self._lock = threading.Lock()

    def watch(self, trigger_id: str, sent: threading.Event) -> None:
        """Set `sent` once the ack of the request with this trigger_id has gone out."""
        if not self.confirmed_by_transport or not trigger_id:
            return
        with self._lock:
            self._watching[trigger_id] = sent

    def acked(self, trigger_id: str, sent: threading.Event) -> None:
        """The listener has acked: without a transport that reports sends, that is the send."""
        if not self.confirmed_by_transport or not trigger_id:
            sent.set()

    def sent(self, payload: Mapping[str, Any] | None) -> None:
        """Called by the transport after it sent the ack of `payload`."""
        trigger_id = str((payload or {}).get("trigger_id") or "")
        with self._lock:
            event = self._watching.pop(trigger_id, None)
        if event is not None:
            event.set()
