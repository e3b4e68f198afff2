"""Test helpers: real Bolt apps wired to a Sandbox over Socket Mode or HTTP, and a recording
HTTP endpoint. No network beyond 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from slackemu import Sandbox


def web_client(sb: Sandbox, token: str | None = None, **kwargs: Any) -> WebClient:
    return WebClient(token=token or sb.bot_token, base_url=sb.api_url, **kwargs)


def bolt_app(sb: Sandbox, **kwargs: Any) -> App:
    """A Bolt app against the sandbox; `message` events are acked by a no-op listener."""
    app = App(client=web_client(sb), **kwargs)

    @app.event("message")
    def ignore_messages() -> None:
        pass

    return app


@contextmanager
def socket_mode(sb: Sandbox, app: App, **kwargs: Any) -> Iterator[SocketModeHandler]:
    """Connect `app` over Socket Mode (handler.connect(), not the blocking start())."""
    handler = SocketModeHandler(app, sb.app_token, **kwargs)
    handler.connect()
    try:
        sb.wait_for(lambda: sb.num_connections() >= 1, timeout=10)
        yield handler
    finally:
        # close() joins the client's threads (seconds); nothing needs to wait for that.
        handler.client.auto_reconnect_enabled = False
        threading.Thread(target=handler.close, daemon=True).start()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Endpoint:
    """A local HTTP endpoint that records requests and answers with `respond(received)`."""

    respond: Callable[[Received], tuple[int, dict[str, str], bytes]]
    received: list[Received] = field(default_factory=list)
    url: str = ""


@contextmanager
def http_endpoint(
    respond: Callable[[Received], tuple[int, dict[str, str], bytes]],
) -> Iterator[Endpoint]:
    endpoint = Endpoint(respond)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            endpoint.received.append(received)
            status, headers, payload = endpoint.respond(received)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def bolt_responder(app: App) -> Callable[[Received], tuple[int, dict[str, str], bytes]]:
    """Serve a Bolt app from an `http_endpoint` (what Bolt's own adapters do)."""

    def respond(received: Received) -> tuple[int, dict[str, str], bytes]:
        headers = {k: [v] for k, v in received.headers.items()}
        response = app.dispatch(BoltRequest(body=received.body.decode(), headers=headers))
        out_headers = {k: v[0] for k, v in response.headers.items() if v}
        return response.status, out_headers, (response.body or "").encode()

    return respond
