"""Socket Mode: single-use tickets from apps.connections.open, the `/link/` WebSocket, `hello`,
envelopes out, acks back, and the `disconnect` control messages.

At most 10 connections per app; an 11th is told `too_many_websockets`. Each envelope goes to
one open connection (round robin). Ack deadlines and redelivery are the dispatcher's job; this
hub only sends frames and resolves the futures waiting for acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from slackemu.clock import Clock
from slackemu.manifest import AppConfig
from slackemu.state import Workspace

logger = logging.getLogger(__name__)


class HubHost(Protocol):
    """What the hub needs of the emulator: the app, the clock, the workspace, and whom to
    tell that connections changed."""

    @property
    def app(self) -> AppConfig: ...
    @property
    def base_url(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def ws(self) -> Workspace: ...
    def connections_changed(self) -> None: ...
    def notify_watchers(self) -> None: ...


MAX_CONNECTIONS = 10
APPROXIMATE_CONNECTION_TIME_S = 18060
DISCONNECT_REASONS = ("warning", "refresh_requested", "link_disabled", "too_many_websockets")


@dataclass
class SocketConnection:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    connected_at: float
    retiring: bool = False  # told to disconnect: gets no more envelopes

    @property
    def is_open(self) -> bool:
        return not self.ws.closed and not self.retiring


@dataclass
class Ack:
    """An ack frame from the app: `{"envelope_id": ..., "payload": ...}`."""

    envelope_id: str
    at: float
    connection_id: int
    payload: dict[str, Any] | None = None
    late: bool = False  # arrived after its deadline (or for an unknown envelope)


class SocketHub:
    def __init__(self, emu: HubHost) -> None:
        self.emu = emu
        self.connections: list[SocketConnection] = []
        self.acks: list[Ack] = []
        self.num_connects = 0
        self._tickets: set[str] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._waiting_for_connection: list[asyncio.Future[None]] = []
        self._next_id = 0
        self._round_robin = 0

    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        ws_base = self.emu.base_url.replace("http://", "ws://", 1)
        return f"{ws_base}/link/?ticket={ticket}&app_id={self.emu.ws.bot_user.app_id}"

    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections if c.is_open]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The `/link/` endpoint: one WebSocket per ticket."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._next_id += 1
        conn = SocketConnection(self._next_id, ws, request, self.emu.clock.now())
        if len(self.open_connections()) >= MAX_CONNECTIONS:
            await self._send_disconnect(conn, "too_many_websockets")
            await ws.close()
            return ws
        if not self.emu.app.socket_mode_enabled:
            await self._send_disconnect(conn, "link_disabled")
            await ws.close()
            return ws
        self.connections.append(conn)
        self.num_connects += 1
        await ws.send_str(json.dumps(self._hello()))
        for old in [c for c in self.connections if c.retiring and not c.ws.closed]:
            await old.ws.close()  # the app has moved over: retire the old link now
        logger.info("socket %d connected (%d open)", conn.id, len(self.open_connections()))
        self.emu.connections_changed()
        for waiter in self._waiting_for_connection:
            if not waiter.done():
                waiter.set_result(None)
        self._waiting_for_connection.clear()
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_text(conn, frame.data)
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
            logger.info("socket %d closed", conn.id)
            self.emu.connections_changed()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.open_connections()),
            "debug_info": {
                "host": "applink-sandbox-1",
                "build_number": 1,
                "approximate_connection_time": APPROXIMATE_CONNECTION_TIME_S,
            },
            "connection_info": {"app_id": self.emu.ws.bot_user.app_id},
        }

    def _on_text(self, conn: SocketConnection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            logger.warning("socket %d sent a non-JSON frame", conn.id)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not envelope_id:
            return
        waiter = self._pending.pop(envelope_id, None)
        payload = message.get("payload")
        late = waiter is None or waiter.done()
        self.acks.append(
            Ack(
                envelope_id,
                self.emu.clock.now(),
                conn.id,
                payload if isinstance(payload, dict) else None,
                late,
            )
        )
        if waiter is not None and not waiter.done():
            waiter.set_result(payload if isinstance(payload, dict) else None)
        self.emu.notify_watchers()

    # --- used by the dispatcher ----------------------------------------------------------
    def expect_ack(self, envelope_id: str) -> asyncio.Future[dict[str, Any] | None]:
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        return future

    def forget(self, envelope_id: str) -> None:
        self._pending.pop(envelope_id, None)

    def wait_for_connection(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.open_connections():
            future.set_result(None)
        else:
            self._waiting_for_connection.append(future)
        return future

    async def send(self, envelope: dict[str, Any]) -> SocketConnection | None:
        """Send one envelope to one open connection (round robin); None if there is none."""
        candidates = self.open_connections()
        if not candidates:
            return None
        self._round_robin = (self._round_robin + 1) % len(candidates)
        conn = candidates[self._round_robin]
        try:
            await conn.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError):
            return None
        return conn

    # --- control ---------------------------------------------------------------------------
    async def disconnect(self, reason: str = "refresh_requested", grace_s: float = 2.0) -> int:
        """Send `disconnect` to every open connection; unless the reason is `warning`, route no
        more envelopes to them and close them after a grace period. Returns how many were told."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"reason must be one of {DISCONNECT_REASONS}")
        targets = self.open_connections()
        for conn in targets:
            await self._send_disconnect(conn, reason)
            conn.retiring = reason != "warning"
        if reason != "warning":
            asyncio.get_running_loop().create_task(self._close_later(targets, grace_s))
        return len(targets)

    async def _close_later(self, targets: list[SocketConnection], grace_s: float) -> None:
        await asyncio.sleep(grace_s)
        for conn in targets:
            if not conn.ws.closed:
                await conn.ws.close()
        self.emu.connections_changed()

    async def drop(self) -> int:
        """Cut every connection's TCP stream without a close handshake."""
        targets = self.open_connections()
        for conn in targets:
            if conn.request.transport is not None:
                conn.request.transport.close()
        return len(targets)

    async def close_all(self) -> None:
        for conn in list(self.connections):
            if not conn.ws.closed:
                await conn.ws.close()
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    async def _send_disconnect(self, conn: SocketConnection, reason: str) -> None:
        frame = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-sandbox-1"},
        }
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.send_str(json.dumps(frame))
