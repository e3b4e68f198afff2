"""HTTP mode: `POST /slack/events` (events, slash commands and clicks, verified by Bolt's
signature check) and `GET /healthz`, on a small threaded stdlib server.

Bolt acks events before running listeners, so a slow answer never holds up the response.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

logger = logging.getLogger(__name__)

SLACK_PATHS = frozenset({"/slack/events", "/slack/commands", "/slack/actions"})
MAX_BODY_BYTES = 1 << 20


class BotHttpServer:
    """Serves a Bolt app over HTTP until stop()."""

    def __init__(
        self, app: App, host: str, port: int, health: Callable[[], tuple[bool, dict[str, Any]]]
    ) -> None:
        handler = _handler_class(app, health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        logger.info("HTTP mode: listening on port %d (POST /slack/events, GET /healthz)", self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_class(
    app: App, health: Callable[[], tuple[bool, dict[str, Any]]]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != "/healthz":
                self._send(404, "text/plain", b"not found")
                return
            ok, details = health()
            self._send(
                200 if ok else 503, "application/json", json.dumps({"ok": ok, **details}).encode()
            )

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path not in SLACK_PATHS:
                self._send(404, "text/plain", b"not found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(413, "text/plain", b"too large")
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers: dict[str, str | Sequence[str]] = {
                k.lower(): [v] for k, v in self.headers.items()
            }
            response = app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
            content_type = (response.headers.get("content-type") or ["text/plain"])[0]
            self._send(
                response.status,
                content_type,
                (response.body or "").encode(),
                {
                    k: v[0]
                    for k, v in response.headers.items()
                    if v and k.lower() not in ("content-type", "content-length")
                },
            )

        def _send(
            self,
            status: int,
            content_type: str,
            payload: bytes,
            extra: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("http %s", self.requestline)

    return Handler
