"""Getting payloads to the app, by Socket Mode or HTTP, and Slack's rules for failures.

Events (`events_api`) must be acked within 3 s (clock-driven); otherwise they are redelivered
up to 3 times on Slack's schedule (nearly immediately, 1 min, 5 min), each time with a new
envelope (Socket Mode: new envelope_id, retry_attempt+1, retry_reason "timeout"; HTTP:
X-Slack-Retry-Num/-Reason, unless the app answered `x-slack-no-retry: 1`). Slash commands and
interactions get one attempt; their ack may carry the immediate response.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from slackemu import ids
from slackemu.clock import Clock, race_clock
from slackemu.http_delivery import HttpDelivery
from slackemu.manifest import AppConfig
from slackemu.socket_mode import SocketHub

logger = logging.getLogger(__name__)

SLACK_RETRY_DELAYS_S = (0.0, 60.0, 300.0)


class DispatchHost(Protocol):
    """What the dispatcher needs of the emulator: the app, the clock, the two ways to the
    app (Socket Mode, HTTP), and whom to tell that a delivery changed."""

    @property
    def app(self) -> AppConfig: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def http(self) -> HttpDelivery: ...
    @property
    def sockets(self) -> SocketHub: ...
    def notify_watchers(self) -> None: ...


@dataclass
class Delivery:
    """One delivery attempt of one payload."""

    id: int
    kind: str  # events_api | slash_commands | interactive
    transport: str  # socket | http | none
    payload: dict[str, Any]
    attempt: int
    retry_reason: str
    sent_at: float
    envelope_id: str | None = None
    outcome: str = "pending"  # acked | timeout | no_connection | http_error | connection_failed
    status: int | None = None
    ack_payload: dict[str, Any] | None = None

    @property
    def event_id(self) -> str | None:
        return self.payload.get("event_id")

    @property
    def event_type(self) -> str | None:
        return self.payload.get("event", {}).get("type") if self.kind == "events_api" else None


@dataclass
class InteractionResult:
    """What the user saw right after a slash command or a click."""

    acked: bool
    payload: dict[str, Any] | None = None
    error: str | None = None  # operation_timeout | dispatch_failed

    def as_dict(self) -> dict[str, Any]:
        return {"acked": self.acked, "payload": self.payload, "error": self.error}


class Dispatcher:
    def __init__(
        self,
        emu: DispatchHost,
        ack_timeout_s: float = 3.0,
        retry_delays_s: tuple[float, ...] = SLACK_RETRY_DELAYS_S,
    ) -> None:
        self.emu = emu
        self.ack_timeout_s = ack_timeout_s
        self.retry_delays_s = retry_delays_s
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def uses_socket_mode(self) -> bool:
        return self.emu.app.socket_mode_enabled

    def send_event(self, payload: dict[str, Any]) -> None:
        """Deliver an event_callback in the background, with Slack's retries."""
        task = asyncio.get_running_loop().create_task(self._deliver_event(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver_event(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()  # byte-identical across HTTP retries
        retry_reason = ""
        for attempt in range(len(self.retry_delays_s) + 1):
            if attempt:
                await self.emu.clock.sleep(self.retry_delays_s[attempt - 1])
            if self.uses_socket_mode:
                delivery = await self._socket_attempt("events_api", payload, attempt, retry_reason)
                retry_reason = "timeout"
            else:
                delivery = await self._http_event_attempt(payload, body, attempt, retry_reason)
                retry_reason = delivery.outcome
            if delivery.outcome in ("acked", "no_retry", "no_endpoint"):
                return
        logger.info("event %s given up after %d attempts", payload.get("event_id"), attempt + 1)

    async def deliver_interaction(
        self, kind: str, payload: dict[str, Any], url: str | None
    ) -> InteractionResult:
        """One attempt at a slash command (`slash_commands`) or click (`interactive`)."""
        if self.uses_socket_mode:
            delivery = await self._socket_attempt(kind, payload, 0, "")
        else:
            delivery = await self._http_interaction_attempt(kind, payload, url)
        if delivery.outcome == "acked":
            return InteractionResult(True, delivery.ack_payload)
        error = (
            "operation_timeout"
            if delivery.outcome in ("timeout", "http_timeout")
            else "dispatch_failed"
        )
        return InteractionResult(False, None, error)

    # --- Socket Mode -----------------------------------------------------------------------
    async def _socket_attempt(
        self, kind: str, payload: dict[str, Any], attempt: int, retry_reason: str
    ) -> Delivery:
        hub, clock = self.emu.sockets, self.emu.clock
        envelope_id = ids.envelope_id()
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope.update(retry_attempt=attempt, retry_reason=retry_reason)
        delivery = self._record(kind, "socket", payload, attempt, retry_reason, envelope_id)
        deadline = clock.now() + self.ack_timeout_s
        ack = hub.expect_ack(envelope_id)
        connected, _ = await race_clock(hub.wait_for_connection(), clock, self.ack_timeout_s)
        if not connected or await hub.send(envelope) is None:
            hub.forget(envelope_id)
            return self._finish(delivery, "no_connection")
        acked, ack_payload = await race_clock(ack, clock, max(0.0, deadline - clock.now()))
        if not acked:
            return self._finish(delivery, "timeout")
        delivery.ack_payload = ack_payload
        return self._finish(delivery, "acked")

    # --- HTTP ------------------------------------------------------------------------------
    async def _http_event_attempt(
        self, payload: dict[str, Any], body: bytes, attempt: int, retry_reason: str
    ) -> Delivery:
        delivery = self._record("events_api", "http", payload, attempt, retry_reason, None)
        url = self.emu.app.event_request_url
        if not url:
            return self._finish(delivery, "no_endpoint")
        headers = {}
        if attempt:
            headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": retry_reason}
        result = await self.emu.http.post(url, body, "application/json", headers)
        delivery.status = result.status
        if result.failure is None:
            return self._finish(delivery, "acked")
        if result.failure == "http_error" and result.no_retry:
            return self._finish(delivery, "no_retry")
        return self._finish(delivery, result.failure)

    async def _http_interaction_attempt(
        self, kind: str, payload: dict[str, Any], url: str | None
    ) -> Delivery:
        delivery = self._record(kind, "http", payload, 0, "", None)
        if not url:
            return self._finish(delivery, "no_endpoint")
        if kind == "slash_commands":
            body = urlencode(payload).encode()
        else:
            body = urlencode({"payload": json.dumps(payload)}).encode()
        result = await self.emu.http.post(url, body, "application/x-www-form-urlencoded")
        delivery.status = result.status
        if result.failure is not None:
            return self._finish(delivery, result.failure)
        delivery.ack_payload = _immediate_response(result.body, result.headers)
        return self._finish(delivery, "acked")

    # --- records ---------------------------------------------------------------------------
    def _record(
        self,
        kind: str,
        transport: str,
        payload: dict[str, Any],
        attempt: int,
        retry_reason: str,
        envelope_id: str | None,
    ) -> Delivery:
        delivery = Delivery(
            len(self.deliveries) + 1,
            kind,
            transport,
            payload,
            attempt,
            retry_reason,
            self.emu.clock.now(),
            envelope_id,
        )
        self.deliveries.append(delivery)
        self.emu.notify_watchers()
        return delivery

    def _finish(self, delivery: Delivery, outcome: str) -> Delivery:
        delivery.outcome = outcome
        self.emu.notify_watchers()
        return delivery


def _immediate_response(body: str, headers: dict[str, str]) -> dict[str, Any] | None:
    """An HTTP ack's body as the immediate response: JSON, plain text, or nothing."""
    if not body.strip():
        return None
    if headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            return {"text": body}
        return parsed if isinstance(parsed, dict) else None
    return {"text": body}
