"""HTTP mode: `POST /slack/events` (events, slash commands and clicks, signature-checked) and
`GET /healthz` / `/readyz`, served by Bolt's WSGI adapter under waitress.

waitress reads each request on its event loop and hands only complete requests to a fixed pool
of worker threads, so slow or half-open clients cost a socket, not a thread. It refuses
malformed or negative `Content-Length` (400) and bodies over `MAX_BODY_BYTES` (413) before the
application sees them, closes connections idle for `timeout_s`, and holds at most
`connection_limit` sockets open. Bolt acks events before running listeners, so a slow answer
never holds up the response.

Against clients that send slowly on purpose (never idle), `bot.slack.http_guard` bounds each
request's total arrival time (`request_timeout_s`) and keeps `reserve` connections free by
closing the oldest unfinished requests, so Slack's deliveries and /healthz always get in.
Every Slack request is signature-checked and parsed by `bot.slack.http_requests` before Bolt sees
it: unsigned → 401 (logged without its body), signed but malformed → 400 (one WARNING).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.task import ThreadedTaskDispatcher

from bot.slack.http_guard import GuardedServer
from bot.slack.http_requests import SlackHttpEndpoint, respond

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
    """What one client may cost: worker threads, open sockets, idle seconds, and the seconds
    one request may take to arrive; `reserve` connections are kept free for new ones."""

    threads: int = 8
    connection_limit: int = 1000
    timeout_s: int = 10
    request_timeout_s: float = 10.0
    reserve: int = 100

    @property
    def effective_reserve(self) -> int:
        return max(1, min(self.reserve, self.connection_limit // 2))


class BotHttpServer:
    """Serves a Bolt app over HTTP until stop()."""

    def __init__(
        self,
        app: App,
        host: str,
        port: int,
        health: Health,
        limits: HttpLimits | None = None,
        *,
        signing_secret: str | None = None,
        ready: Health | None = None,
        observer: Any = None,
    ) -> None:
        limits = limits or HttpLimits()
        self._map: dict[int, Any] = {}
        adjustments = Adjustments(
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
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(limits.threads)
        self.endpoint = SlackHttpEndpoint(app, signing_secret)
        self._server = GuardedServer(
            bolt_wsgi_app(self.endpoint, health, ready=ready, observer=observer),
            self._map,
            dispatcher=dispatcher,
            adj=adjustments,
            sockinfo=adjustments.listen[0],
            request_timeout_s=limits.request_timeout_s,
            reserve=limits.effective_reserve,
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def guard_counts(self) -> dict[str, int]:
        """Connections closed by the guard, and requests refused before Bolt."""
        return {
            "timed_out": self._server.timed_out,
            "shed": self._server.shed,
            "refused": self.endpoint.refused,
            "malformed": self.endpoint.malformed,
        }

    def start(self) -> None:
        self._thread.start()
        logger.info(
            "HTTP mode: listening on %s:%d (POST /slack/events, GET /healthz, /readyz)",
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


def bolt_wsgi_app(
    endpoint: Callable[..., Iterable[bytes]],
    health: Health,
    *,
    ready: Health | None = None,
    observer: Any = None,
) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: /healthz and /readyz, then the checked Slack endpoint for each
    Slack path (each request counted and its ack timed by `observer`, bot.ops.observer, when
    given)."""
    probes = {"/healthz": health, "/readyz": ready or health}

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in probes and environ.get("REQUEST_METHOD") == "GET":
            ok, details = probes[path]()
            body = json.dumps({"ok": ok, **details}).encode()
            return _plain(start_response, "200 OK" if ok else "503 Service Unavailable", body)
        if path not in SLACK_PATHS:
            return respond(start_response, 404, "not found")
        if observer is None:
            return endpoint(environ, start_response)
        kind = "events_api" if "json" in environ.get("CONTENT_TYPE", "") else "form"
        received, statuses = time.monotonic(), []

        def seen(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        observer.event_received(kind)
        served = endpoint(environ, seen)
        if statuses and statuses[-1].startswith("2"):
            observer.event_acked(kind, time.monotonic() - received)
        return served

    return application


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    kind = "application/json" if body.startswith(b"{") else "text/plain; charset=utf-8"
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
