"""Start-up fails with a message naming the missing or bad setting."""

from __future__ import annotations

import pytest

from bot.config import BotConfig
from bot.runtime import resolve_mode
from deskhand.settings import Settings, SettingsError


def settings(**values: object) -> BotConfig:
    return Settings(_env_file=None, **values).bot_config()  # type: ignore[call-arg]


def test_modes_follow_the_tokens() -> None:
    assert resolve_mode(settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1")) == "socket"
    assert resolve_mode(settings(slack_bot_token="xoxb-1", slack_signing_secret="s")) == "http"
    assert (
        resolve_mode(
            settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1", slack_signing_secret="s"),
            "http",
        )
        == "http"
    )


@pytest.mark.parametrize(
    ("values", "mode", "named"),
    [
        ({}, "auto", "SLACK_BOT_TOKEN is missing"),
        ({"slack_bot_token": "  "}, "auto", "SLACK_BOT_TOKEN is missing"),
        ({"slack_bot_token": "xoxp-user"}, "auto", "SLACK_BOT_TOKEN must be a bot token"),
        ({"slack_bot_token": "xoxb-1"}, "auto", "SLACK_SIGNING_SECRET is missing"),
        ({"slack_bot_token": "xoxb-1"}, "socket", "SLACK_APP_TOKEN is missing"),
        (
            {"slack_bot_token": "xoxb-1", "slack_app_token": "xoxb-2"},
            "auto",
            "SLACK_APP_TOKEN must be an app-level token",
        ),
    ],
)
def test_missing_or_bad_credentials_are_named(values: dict, mode: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        resolve_mode(settings(**values), mode)


def test_a_refused_token_is_named(workspace) -> None:
    from bot.runtime import start_bot

    bad = settings(
        slack_bot_token="xoxb-wrong", slack_app_token="xapp-1", slack_api_url=workspace.api_url
    )
    with pytest.raises(SettingsError, match=r"SLACK_BOT_TOKEN was refused .*invalid_auth"):
        start_bot(bad, engine=None)  # type: ignore[arg-type]
    workspace.take_violations()  # the bad token is the point of this test


def test_an_unreachable_slack_is_named() -> None:
    from bot.runtime import check_slack

    unreachable = settings(slack_bot_token="xoxb-1", slack_api_url="http://127.0.0.1:9/api/")
    with pytest.raises(SettingsError, match="cannot reach Slack at SLACK_API_URL"):
        check_slack(unreachable)


def test_waiting_stops_with_a_reason_when_the_engine_dies() -> None:
    from deskhand.run import wait_for_signal

    alive = iter([True, True, False])
    assert wait_for_signal(engine_alive=lambda: next(alive)) == "engine dead"


def test_deskhand_run_without_tokens_says_exactly_what_it_needs(capsys) -> None:
    """Issue 18: not just "SLACK_BOT_TOKEN is missing", but every variable and the local way."""
    from deskhand.cli import main

    with pytest.MonkeyPatch.context() as patch:
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
            patch.setenv(name, "")
        assert main(["run"]) == 2
    err = capsys.readouterr().err
    for needed in (
        "SLACK_BOT_TOKEN is missing",
        "SLACK_APP_TOKEN (xapp-…",
        "SLACK_SIGNING_SECRET (HTTP mode",
        "deskhand sandbox",
        "SLACK_API_URL",
    ):
        assert needed in err, err
