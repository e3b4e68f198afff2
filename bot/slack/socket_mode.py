"""Socket Mode with the ack first, for our (synchronous) Bolt app.

slack_sdk's aiohttp client, on its own event loop thread, acks each `events_api` envelope the
moment it is read and then hands it to Bolt on a dispatch thread, so a burst is acked in
milliseconds; commands and clicks go through Bolt first (their ack may carry the response).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
from slack_bolt import App
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

DISPATCH_THREADS = 1  # Bolt middleware only: listeners hand work to their own pools
CONNECT_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 10.0


class AckFirstSocketMode:
    """connect() once; close() to stop. Reconnects on Slack's `disconnect` (slack_sdk)."""

    def __init__(
        self,
        app: App,
        app_token: str,
        api_url: str,
        *,
        on_sent: Callable[[Mapping[str, Any] | None], None] | None = None,
        observer: Any = None,
    ) -> None:
        self.app = app
        self.on_sent = on_sent  # told after a command's or click's ack has gone out
        self.observer = observer  # bot.ops.observer.BotObserver: envelopes received and acked
        self.app_token = app_token
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.client: SocketModeClient | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="socket-mode", daemon=True
        )
        self._closed = False
        self._dispatch = ThreadPoolExecutor(
            max_workers=DISPATCH_THREADS, thread_name_prefix="dispatch"
        )

    def connect(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)
        self.client = future.result(CONNECT_TIMEOUT_S)

    def close(self) -> None:
        """Close the connection and stop its thread; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        if self.client is not None:
            client = self.client
            client.auto_reconnect_enabled = False
            try:
                asyncio.run_coroutine_threadsafe(client.close(), self._loop).result(CLOSE_TIMEOUT_S)
            except Exception:
                logger.exception("closing the Socket Mode connection failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT_S)
        self._dispatch.shutdown(wait=False, cancel_futures=True)

    async def _connect(self) -> SocketModeClient:
        web_client = AsyncWebClient(base_url=self.api_url)
        client = SocketModeClient(
            app_token=self.app_token,
            web_client=web_client,
            logger=logging.getLogger("slack_sdk.socket_mode"),
        )
        client.socket_mode_request_listeners.append(self._on_request)
        await client.connect()
        return client

    def connected(self, timeout: float = 2.0) -> bool:
        """Whether the socket is open and answering pings now (for the readiness probe)."""
        client = self.client
        if client is None or self._closed or not self._loop.is_running():
            return False
        future = asyncio.run_coroutine_threadsafe(client.is_connected(), self._loop)
        return bool(future.result(timeout))

    async def _on_request(self, client: Any, req: SocketModeRequest) -> None:
        received = time.monotonic()
        if self.observer is not None:
            self.observer.event_received(req.type)
        if req.type == "events_api":
            try:
                await client.send_socket_mode_response(
                    SocketModeResponse(envelope_id=req.envelope_id)
                )
            except (ConnectionError, aiohttp.ClientError) as err:
                # The socket closed under us: Slack delivers it again, and the store's claim
                # keeps that redelivery from a second answer; answer now all the same.
                logger.info("could not ack envelope %s (%s)", req.envelope_id, err)
            else:
                self._acked(req.type, received)
            self._loop.run_in_executor(self._dispatch, self._dispatch_event, req)
            return
        started = time.time()
        response = await self._loop.run_in_executor(self._dispatch, run_bolt_app, self.app, req)
        await send_async_response(client, req, response, started)
        self._acked(req.type, received)
        if self.on_sent is not None:
            self.on_sent(req.payload)

    def _acked(self, kind: str, received: float) -> None:
        if self.observer is not None:
            self.observer.event_acked(kind, time.monotonic() - received)

    def _dispatch_event(self, req: SocketModeRequest) -> None:
        try:
            response = run_bolt_app(self.app, req)
        except Exception:
            logger.exception("dispatching envelope %s failed", req.envelope_id)
            return
        if response.status != 200:
            logger.info("event not handled (%s): %s", response.status, response.body)
