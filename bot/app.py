"""The Bolt app: our Web API client, our own authorization result (one auth.test at start-up),
request verification in HTTP mode, a small listener pool (listeners only route and hand off;
answers run on the generation pool), and the listeners.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult

from bot.listeners import register_listeners
from bot.services import BotServices
from bot.slack.client import make_web_client

logger = logging.getLogger(__name__)

LISTENER_THREADS = 16  # routing and clicks only; generation has its own pool


def create_app(bot: BotServices, *, bot_token: str, signing_secret: str | None) -> App:
    """A Bolt app for `bot`; HTTP mode verifies requests before they reach it."""
    identity = bot.identity
    authorization = AuthorizeResult(
        enterprise_id=None,
        team_id=identity.team_id,
        bot_user_id=identity.user_id,
        bot_id=identity.bot_id,
        bot_token=bot_token,
    )

    def authorize(**_: Any) -> AuthorizeResult:
        return authorization

    app = App(
        name="deskhand",
        client=make_web_client(None, bot.settings.slack_api_url),  # tokens come from authorize
        authorize=authorize,
        signing_secret=signing_secret or "",
        # HTTP mode: bot.slack.http_requests checks the signature before parsing (Bolt's own check
        # logs rejected bodies whole and crashes on a non-numeric timestamp).
        request_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="listener"
        ),
    )
    register_listeners(app, bot)

    @app.error
    def log_listener_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        logger.error("listener failed on a %s request", body.get("type"), exc_info=error)
        return BoltResponse(status=200, body="")  # never make Slack retry because of us

    return app
