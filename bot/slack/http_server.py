"""HTTP mode: `POST /slack/events` (events, slash commands and clicks, verified by Bolt's
signature check) and `GET /healthz`, served by Bolt's WSGI adapter under waitress.

waitress reads each request on its event loop and hands only complete requests to a fixed pool
of worker threads, so slow or half-open clients cost a socket, not a thread. It refuses
malformed or negative `Content-Length` (400) and bodies over `MAX_BODY_BYTES` (413) before the
application sees them, closes connections idle for `timeout_s`, and holds at most
`connection_limit` sockets open. Bolt acks events before running listeners, so a slow answer
never holds up the response.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

SLACK_PATHS = ("/slack/events", "/slack/commands", "/slack/actions")
MAX_BODY_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 << 10
LOOP_TICK_S = 0.2  # how soon stop() is noticed by the event loop

Health = Callable[[], tuple[bool, dict[str, Any]]]


@dataclass(frozen=True)
class HttpLimits:
    """What one client may cost: worker threads, open sockets, idle seconds."""

    threads: int = 8
    connection_limit: int = 1000
    timeout_s: int = 10


class BotHttpServer:
    """Serves a Bolt app over HTTP until stop()."""

    def __init__(
        self, app: App, host: str, port: int, health: Health, limits: HttpLimits | None = None
    ) -> None:
        limits = limits or HttpLimits()
        self._map: dict[int, Any] = {}
        self._server: Any = waitress.create_server(
            bolt_wsgi_app(app, health),
            map=self._map,
            host=host,
            port=port,
            threads=limits.threads,
            connection_limit=limits.connection_limit,
            channel_timeout=limits.timeout_s,
            cleanup_interval=max(1, min(limits.timeout_s // 2, 30)),
            max_request_body_size=MAX_BODY_BYTES,
            max_request_header_size=MAX_HEADER_BYTES,
            asyncore_use_poll=True,  # select() stops at 1,024 descriptors
            expose_tracebacks=False,
            ident="deskhand",
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread.start()
        logger.info(
            "HTTP mode: listening on %s:%d (POST /slack/events, GET /healthz)",
            self._server.effective_host,
            self.port,
        )

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=LOOP_TICK_S, map=self._map, use_poll=True, count=1)
        finally:
            wasyncore.close_all(self._map)
            self._server.task_dispatcher.shutdown(timeout=5)


def bolt_wsgi_app(app: App, health: Health) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: /healthz, then Bolt's adapter for each Slack path."""
    handlers = {path: SlackRequestHandler(app, path) for path in SLACK_PATHS}

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            ok, details = health()
            body = json.dumps({"ok": ok, **details}).encode()
            return _plain(start_response, "200 OK" if ok else "503 Service Unavailable", body)
        handler = handlers.get(path)
        if handler is None:
            return _plain(start_response, "404 Not Found", b"not found")
        try:
            return handler(environ, start_response)
        except UnicodeDecodeError:
            return _plain(start_response, "400 Bad Request", b"body is not UTF-8")

    return application


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    kind = "application/json" if body.startswith(b"{") else "text/plain; charset=utf-8"
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
