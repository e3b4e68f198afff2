"""`deskhand up`: which way it goes, and the settings it gives the bot in the local workspace."""

from __future__ import annotations

import logging
import socket

from pydantic import SecretStr

from deskhand.settings import Settings
from deskhand.up import (
    SAMPLE_KB,
    has_slack_credentials,
    local_settings,
    run_local,
)
from slackemu.control_api import exposure_warning
from tests.bot.helpers import root_log


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_tokens_in_the_environment_mean_real_slack() -> None:
    assert not has_slack_credentials(settings())
    assert not has_slack_credentials(settings(slack_bot_token=" "))
    assert has_slack_credentials(settings(slack_bot_token="xoxb-1"))
    assert has_slack_credentials(settings(slack_signing_secret="s"))


def test_the_local_workspace_settings(workspace) -> None:
    local = local_settings(settings(), workspace)
    assert local.slack_bot_token == SecretStr(workspace.bot_token)
    assert local.slack_app_token == SecretStr(workspace.app_token)
    assert local.slack_api_url == workspace.api_url
    assert local.kb_dir == SAMPLE_KB and SAMPLE_KB.is_dir()
    assert local.escalation_channel == workspace.channel_id("general")
    mine = local_settings(settings(kb_dir="/srv/kb", escalation_channel="C0HUMANS"), workspace)
    assert str(mine.kb_dir) == "/srv/kb" and mine.escalation_channel == "C0HUMANS"


def test_a_non_loopback_sandbox_host_is_warned_about_loudly(capsys) -> None:
    assert exposure_warning("127.0.0.1") is None and exposure_warning("localhost") is None
    assert exposure_warning("::1") is None
    assert "listens on 0.0.0.0" in (exposure_warning("0.0.0.0") or "")
    assert exposure_warning("devbox.lan") is not None
    with root_log(logging.NullHandler()), socket.socket() as taken:
        # the port is taken: run_local warns, then gives up
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run_local(settings(sandbox_host="0.0.0.0", sandbox_port=port))
    out = capsys.readouterr().out
    assert code == 1 and "*** WARNING: the local Slack workspace listens on 0.0.0.0" in out
    assert "Cannot listen" in out
