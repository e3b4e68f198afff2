"""Starting and stopping the bot around an engine that is already running.

Owns the mode (Socket Mode with an app token, HTTP with a signing secret), the credentials
check that names what is missing, the one auth.test, opening the store (and resuming what a
dead process left unanswered), and an orderly stop. Used by
`deskhand run`, `deskhand up`, the benchmark and the tests.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr
from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.answer.answerers import Answerer, open_answerer
from bot.app import create_app
from bot.config import SettingsError
from bot.ops.health import Health
from bot.ops.metrics import BotMetrics
from bot.ops.observer import BotObserver
from bot.ops.server import OpsServer, serve_ops
from bot.ops.tracing import start_tracing
from bot.replicas.recovery import Recovery
from bot.replicas.stop_relay import StopRelay
from bot.services import BotServices, build_services
from bot.slack.client import make_web_client
from bot.slack.http_server import BotHttpServer, HttpLimits
from bot.slack.socket_mode import AckFirstSocketMode
from bot.types import BotIdentity
from engine import GenerationEngine
from store import Store, StoreError

if TYPE_CHECKING:
    from bot.config import BotConfig

logger = logging.getLogger(__name__)

Mode = Literal["socket", "http"]

NEEDS = (
    ".\n`deskhand run` needs SLACK_BOT_TOKEN (xoxb-…) and either SLACK_APP_TOKEN (xapp-…, "
    "Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode, --mode http).\n"
    "For the local workspace: run `deskhand sandbox` and set the SLACK_BOT_TOKEN, "
    "SLACK_APP_TOKEN and SLACK_API_URL lines it prints.\n"
    "With no Slack tokens at all, `deskhand up` (make run) starts the local workspace and the "
    "bot together."
)


def secret(value: SecretStr | None) -> str | None:
    """A configured secret, or None when unset or empty."""
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def resolve_mode(settings: BotConfig, requested: str = "auto") -> Mode:
    """Socket Mode or HTTP, with a start-up error that names the missing or bad setting."""
    bot_token = secret(settings.slack_bot_token)
    app_token = secret(settings.slack_app_token)
    signing_secret = secret(settings.slack_signing_secret)
    if bot_token is None:
        raise SettingsError(
            "SLACK_BOT_TOKEN is missing: set it to the app's Bot User OAuth "
            "Token (xoxb-…), in the environment or in .env" + NEEDS
        )
    if not bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if requested == "socket" or (requested == "auto" and app_token is not None):
        if app_token is None:
            raise SettingsError(
                "SLACK_APP_TOKEN is missing: Socket Mode needs an app-level "
                "token (xapp-…) with the connections:write scope" + NEEDS
            )
        return "socket"
    if signing_secret is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is missing: HTTP mode needs the app's "
            "signing secret (or set SLACK_APP_TOKEN for Socket Mode)" + NEEDS
        )
    return "http"


@dataclass
class RunningBot:
    services: BotServices
    app: App
    mode: Mode
    recovery: Recovery
    stop_relay: StopRelay
    socket_mode: AckFirstSocketMode | None = None
    http_server: BotHttpServer | None = None
    health: Health | None = None
    ops_server: OpsServer | None = None  # METRICS_PORT: /metrics, /healthz, /readyz

    @property
    def identity(self) -> BotIdentity:
        return self.services.identity

    def stop(self) -> None:
        """Stop taking events, then let the answers in flight end (stopped, marked so)."""
        if self.socket_mode is not None:
            self.socket_mode.close()
        if self.http_server is not None:
            self.http_server.stop()
        self.services.close()  # answers in flight are left open in the store, handed over
        self.stop_relay.stop()
        self.recovery.stop()
        self.services.answerer.close()
        self.services.store.close()
        if self.ops_server is not None:
            self.ops_server.stop()
        self.services.ops.close()
        logger.info("bot stopped")


def start_bot(
    settings: BotConfig,
    engine: GenerationEngine,
    *,
    mode: str = "auto",
    answerer: Answerer | None = None,
) -> RunningBot:
    """Connect to Slack (or SLACK_API_URL) and start answering; returns at once."""
    resolved = resolve_mode(settings, mode)
    bot_token = secret(settings.slack_bot_token)
    assert bot_token is not None
    metrics = BotMetrics()
    client = make_web_client(bot_token, settings.slack_api_url, observer=metrics.slack_calls)
    identity = _who_am_i(client, settings.slack_api_url)
    try:
        store = Store.open(settings.store_url)
    except StoreError as err:
        raise SettingsError(f"DATABASE_URL / DATA_DIR: {err}") from None
    answerer = answerer or open_answerer(settings, engine)
    services = build_services(settings, engine, answerer, client, identity, store)
    services.ops = BotObserver.for_bot(
        engine,
        metrics,
        cost_per_hour=settings.cost_per_hour,
        currency=settings.cost_currency,
        message_text=settings.log_message_text,
        tracing=start_tracing(settings.otel_exporter_otlp_endpoint, settings.otel_service_name),
    )
    signing_secret = secret(settings.slack_signing_secret) if resolved == "http" else None
    app = create_app(services, bot_token=bot_token, signing_secret=signing_secret)
    recovery = Recovery(services)
    running = RunningBot(services, app, resolved, recovery, StopRelay(services))
    recovery.start()  # beats, then resumes what a dead process left (before new events)
    running.stop_relay.start()
    if resolved == "socket":
        app_token = secret(settings.slack_app_token)
        assert app_token is not None
        services.acks.confirmed_by_transport = True
        running.socket_mode = AckFirstSocketMode(
            app,
            app_token,
            settings.slack_api_url,
            on_sent=services.acks.sent,
            observer=services.ops,
        )
        running.socket_mode.connect()
        running.health = Health(services, running.socket_mode.connected)
    else:
        running.health = Health(services)
        running.http_server = BotHttpServer(
            app,
            settings.http_host,
            settings.port,
            health=running.health.live,
            limits=HttpLimits(
                threads=settings.http_threads,
                connection_limit=settings.http_connection_limit,
                timeout_s=settings.http_timeout_s,
                request_timeout_s=settings.http_request_timeout_s,
                reserve=settings.http_connection_reserve,
            ),
            ready=running.health.ready,
            observer=services.ops,
            signing_secret=signing_secret,
        )
        running.http_server.start()
    try:
        running.ops_server = serve_ops(
            services, recovery, running.health, settings.metrics_host, settings.metrics_port
        )
    except OSError as err:  # the port is taken or the address is not ours
        running.stop()
        raise SettingsError(f"METRICS_PORT={settings.metrics_port}: {err.strerror}") from None
    # Everything loaded so far (model, tokenizer, Bolt, the index) lives as long as the process:
    # keep it out of the garbage collector's full passes, which otherwise pause every thread
    # (Socket Mode acks included) for tens of milliseconds.
    gc.freeze()
    logger.info(
        "bot %s (%s) answering with %s over %s; generation pool %d; store %s; replica %s",
        identity.user_id,
        identity.team_id,
        answerer.name,
        "Socket Mode" if resolved == "socket" else "HTTP",
        services.pool.capacity,
        store.where,
        services.jobs.owner,
    )
    return running


def check_slack(settings: BotConfig) -> BotIdentity:
    """Who the bot token says we are (auth.test), or a start-up error that says why not."""
    token = secret(settings.slack_bot_token)
    return _who_am_i(make_web_client(token, settings.slack_api_url), settings.slack_api_url)


def _who_am_i(client: Any, api_url: str) -> BotIdentity:
    try:
        auth = client.auth_test()
    except SlackApiError as err:
        hint = ""
        if "slack.com" in api_url:
            hint = (
                " — a token printed by `deskhand sandbox` also needs the SLACK_API_URL it printed"
            )
        raise SettingsError(
            f"SLACK_BOT_TOKEN was refused by {api_url} ({err.response.get('error')}){hint}"
        ) from None
    except OSError as err:  # urllib's URLError included
        raise SettingsError(f"cannot reach Slack at SLACK_API_URL={api_url} ({err})") from None
    return BotIdentity(
        user_id=str(auth["user_id"]),
        bot_id=str(auth.get("bot_id") or ""),
        team_id=str(auth["team_id"]),
    )
