"""The Web API client the bot uses everywhere: Slack's base URL from settings (the local
emulator sets it) and slack_sdk's retry handlers for 429 (Retry-After), 5xx and dropped
connections. Bolt copies the handlers into the per-request clients it builds.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

TIMEOUT_S = 30


def retry_handlers() -> list[RetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def make_web_client(token: str | None, api_url: str) -> WebClient:
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    return WebClient(
        token=token, base_url=base_url, timeout=TIMEOUT_S, retry_handlers=retry_handlers()
    )
