"""Fault injection, and slack_sdk's retry handlers reacting to it."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from slackemu import Sandbox

from .helpers import web_client


def test_429_is_honoured_by_the_rate_limit_retry_handler(sandbox: Sandbox) -> None:
    sandbox.inject("chat.postMessage", status=429, retry_after=1)
    client = web_client(sandbox, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    client.chat_postMessage(channel=sandbox.channel_id("support"), text="hi")
    assert time.monotonic() - started >= 1.0
    calls = sandbox.calls("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]
    assert calls[0].injected


def test_429_without_a_retry_handler_raises(sandbox: Sandbox) -> None:
    sandbox.inject("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        web_client(sandbox).chat_postMessage(channel=sandbox.channel_id("support"), text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


def test_error_codes_and_server_errors(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    sandbox.inject("chat.update", error="internal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError, match="internal_error"):
            client.chat_update(channel=sandbox.channel_id("support"), ts="1.000001", text="x")
    sandbox.inject("*", status=500)
    retrying = web_client(sandbox, retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)])
    assert retrying.auth_test()["ok"]
    assert [c.status for c in sandbox.calls("auth.test")] == [500, 200]


def test_delay(sandbox: Sandbox) -> None:
    sandbox.inject("auth.test", delay=0.3)
    started = time.monotonic()
    web_client(sandbox).auth_test()
    assert time.monotonic() - started >= 0.3


def test_dropped_connection_is_retried_by_the_default_handler(sandbox: Sandbox) -> None:
    sandbox.inject("auth.test", drop_connection=True)
    assert web_client(sandbox).auth_test()["ok"]  # ConnectionErrorRetryHandler is on by default
    assert [c.status for c in sandbox.calls("auth.test")] == [0, 200]
