"""The operations endpoint on METRICS_PORT: `GET /metrics`, `/healthz`, `/readyz`.

Owns the HTTP side only (a small threaded server of its own, apart from Slack's traffic, so a
flood on the HTTP-mode port never blinds the probes): Prometheus text from the bot's registry
and the health probes' JSON, 200 when ok and 503 when not.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST

from bot.ops.health import Health, Probe

if TYPE_CHECKING:
    from bot.replicas.recovery import Recovery
    from bot.services import BotServices

logger = logging.getLogger(__name__)


class OpsServer:
    """Serves until stop(); `port` is the bound one (METRICS_PORT=0 picks a free port)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        metrics: Callable[[], bytes],
        live: Callable[[], Probe],
        ready: Callable[[], Probe],
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, metrics()),
            "/healthz": lambda: _probe(live),
            "/readyz": lambda: _probe(ready),
        }

        class Handler(BaseHTTPRequestHandler):
            server_version = "deskhand-ops"

            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    status, kind, body = 404, "text/plain; charset=utf-8", b"not found\n"
                else:
                    try:
                        status, kind, body = route()
                    except Exception:
                        logger.exception("%s failed", self.path)
                        status, kind, body = 500, "text/plain; charset=utf-8", b"error\n"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a scrape every few seconds is not news

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="ops-http",
            daemon=True,
        )  # fmt: skip

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        logger.info(
            "operations endpoint on %s:%d (GET /metrics, /healthz, /readyz)",
            self._server.server_address[0],
            self.port,
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _probe(check: Callable[[], Probe]) -> tuple[int, str, bytes]:
    ok, details = check()
    body = json.dumps({"ok": ok, **details}).encode() + b"\n"
    return (200 if ok else 503), "application/json", body


def serve_ops(
    services: BotServices, recovery: Recovery, health: Health, host: str, port: int | None
) -> OpsServer | None:
    """Put the numbers the bot keeps anyway on its registry and, when METRICS_PORT is set,
    serve /metrics, /healthz and /readyz there; None when it is not."""
    metrics, pool = services.ops.metrics, services.pool
    metrics.watch(
        "deskhand:jobs_resumed",
        "Questions a dead process left unanswered, taken up again here.",
        lambda: recovery.resumed,
    )
    metrics.watch(
        "deskhand:jobs_apologized",
        "Unanswered questions too old to resume: the asker was asked to ask again.",
        lambda: recovery.apologized,
    )
    metrics.watch(
        "deskhand:answers_in_flight",
        "Answers being written now (the generation pool).",
        lambda: pool.active,
        kind="gauge",
    )
    if port is None:
        return None
    server = OpsServer(host, port, metrics=metrics.exposition, live=health.live, ready=health.ready)
    server.start()
    return server
