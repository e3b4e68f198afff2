"""The bot, unchanged, on a remote engine: Bolt against the emulator over Socket Mode, with
RemoteEngine against llama.cpp's server (a real answer) and against a loopback server that
says it is busy or drops the stream (the usual busy reply and "cut short" note)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import errors
from bot.runtime import RunningBot, start_bot
from deskhand.settings import Settings
from engine import start_engine
from engine.remote import RemoteEngine
from engine.remote.llama_server import LlamaServer
from slackemu import Sandbox
from tests.bot.conftest import bot_settings
from tests.bot.helpers import (
    answer_text,
    bot_replies,
    find_element,
    shown_text,
    wait_for_stop_button,
)


@pytest.fixture
def remote_bot() -> Iterator[object]:
    """start(sandbox, engine_url, **settings) -> a bot on a RemoteEngine; both stopped after."""
    started: list[tuple[RunningBot, RemoteEngine]] = []

    def start(sb: Sandbox, url: str, **overrides: object) -> RunningBot:
        engine = start_engine(Settings(_env_file=None, engine_url=url).engine_options())  # type: ignore[call-arg]
        assert isinstance(engine, RemoteEngine)
        bot = start_bot(bot_settings(sb, **overrides).bot_config(), engine, mode="socket")
        started.append((bot, engine))
        sb.wait_for(lambda: sb.num_connections() >= 1, timeout=10)
        return bot

    yield start
    for bot, engine in started:
        bot.stop()
        engine.shutdown()


@pytest.mark.slow
def test_a_mention_is_answered_through_the_llama_cpp_server(
    workspace: Sandbox, remote_bot, llama_server: LlamaServer
) -> None:
    bot = remote_bot(workspace, llama_server.url, max_new_tokens=24)
    assert bot.services.pool.capacity == 16  # ENGINE_MAX_CONCURRENCY sizes the answer pool
    ts = workspace.mention("ada", "support", "what is a bicycle?")
    workspace.wait_for_reply("support", ts, timeout=90)
    text = answer_text(workspace, "support", ts)
    assert text.strip()
    # no error note ("Cut short: something went wrong."); 24 tokens may hit the length limit
    assert errors.GENERIC not in text and "Cut short:" not in str(workspace.thread("support", ts))
    assert bot.services.engine.stats().requests_finished == 1


def test_a_busy_server_gets_the_busy_reply(workspace: Sandbox, remote_bot, fake) -> None:
    fake.mode = "429"
    remote_bot(workspace, fake.url)
    ts = workspace.mention("ada", "support", "hello?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert shown_text(reply) == errors.BUSY
    assert len(bot_replies(workspace, "support", ts)) == 1


def test_a_dropped_stream_keeps_the_text_and_says_it_was_cut_short(
    workspace: Sandbox, remote_bot, fake
) -> None:
    fake.mode = "drop"
    remote_bot(workspace, fake.url, stream_mode="update")
    ts = workspace.mention("ada", "support", "hello?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert answer_text(workspace, "support", ts).startswith("Hello there")
    assert "Cut short: something went wrong." in str(reply["blocks"])
    everything = str(workspace.thread("support", ts))
    for leak in ("RemoteProtocolError", "Traceback", "connection lost"):
        assert leak not in everything


def test_the_stop_button_closes_the_remote_stream(workspace: Sandbox, remote_bot, fake) -> None:
    fake.mode = "endless"  # a few words, then it would go on until the deadline
    fake.words = ["Hello", " there", ", friend", "! "]  # a whole sentence: shown as it stalls
    bot = remote_bot(workspace, fake.url, stream_mode="update", stream_update_interval_s=0.3)
    ts = workspace.mention("ada", "support", "tell me everything")
    message = wait_for_stop_button(workspace, "support", ts, "Hello")
    button = find_element(message, "deskhand_stop")
    assert button is not None
    workspace.click("ada", "support", message["ts"], "deskhand_stop", value=button["value"])
    workspace.wait_for(lambda: bot.services.engine.stats().running == 0 or None, timeout=5)
    workspace.wait_for(lambda: fake.requests[0].client_left or None, timeout=5)  # it hung up
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert "Stopped." in str(reply["blocks"])
    assert answer_text(workspace, "support", ts).startswith("Hello")  # what was shown stays
