"""The Python API itself: wait_for_reply's finality rule, reset, the fake clock."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from slackemu import FakeClock, Sandbox, SandboxError
from slackemu.clock import race_clock

from .helpers import web_client


def test_identity(sandbox: Sandbox) -> None:
    assert sandbox.api_url == sandbox.url + "/api/"
    assert sandbox.bot_token.startswith("xoxb-") and sandbox.app_token.startswith("xapp-")
    assert sandbox.app_id in sandbox.app_token
    assert sandbox.channel_id("#support") == sandbox.channel_id("support")
    assert sandbox.user_id("Ada Lovelace") == sandbox.user_id("ada")
    assert sandbox.dm_channel("ada").startswith("D")
    assert {u["name"] for u in sandbox.users} >= {"ada", "grace", "linus", "otterbot"}
    with pytest.raises(SandboxError):
        sandbox.post_message("nobody", "support", "x")


def test_placeholder_edited_until_quiet_is_not_final(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.mention("ada", "support", "q")

    def bot() -> None:
        ts = client.chat_postMessage(channel=support, thread_ts=parent, text="Thinking…")["ts"]
        for text in ("The", "The answer", "The answer is 42."):
            time.sleep(0.2)
            client.chat_update(channel=support, ts=ts, text=text)

    worker = threading.Thread(target=bot)
    worker.start()
    assert sandbox.wait_for_reply("support", parent, final=False)["text"] in (
        "Thinking…",
        "The",
        "The answer",
    )
    assert sandbox.wait_for_reply("support", parent, quiet_s=0.5)["text"] == "The answer is 42."
    worker.join()


def test_streaming_marker_in_metadata_keeps_waiting(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.mention("ada", "support", "q")
    ts = client.chat_postMessage(
        channel=support,
        thread_ts=parent,
        text="…",
        metadata={"event_type": "llm_reply", "event_payload": {"streaming": True}},
    )["ts"]
    with pytest.raises(TimeoutError):
        sandbox.wait_for_reply("support", parent, timeout=0.8, quiet_s=0.1)
    client.chat_update(
        channel=support,
        ts=ts,
        text="done",
        metadata={"event_type": "llm_reply", "event_payload": {"streaming": False}},
    )
    assert sandbox.wait_for_reply("support", parent, quiet_s=0.1)["text"] == "done"


def test_follow_up_waits_for_a_new_answer(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.mention("ada", "support", "first")
    client.chat_postMessage(channel=support, thread_ts=parent, text="first answer")
    assert sandbox.wait_for_reply("support", parent, quiet_s=0)["text"] == "first answer"
    sandbox.post_message("ada", "support", "and then?", thread_ts=parent)
    with pytest.raises(TimeoutError):
        sandbox.wait_for_reply("support", parent, timeout=0.3, quiet_s=0)
    client.chat_postMessage(channel=support, thread_ts=parent, text="second answer")
    assert sandbox.wait_for_reply("support", parent, quiet_s=0)["text"] == "second answer"


def test_top_level_replies_in_a_dm(sandbox: Sandbox) -> None:
    sandbox.dm("ada", "hello")
    web_client(sandbox).chat_postMessage(channel=sandbox.dm_channel("ada"), text="hi Ada")
    assert sandbox.wait_for_reply(sandbox.dm_channel("ada"), None, quiet_s=0)["text"] == "hi Ada"


def test_reset_returns_to_the_seed(sandbox: Sandbox) -> None:
    sandbox.post_message("ada", "support", "x")
    sandbox.inject("auth.test", error="fatal_error")
    sandbox.reset()
    assert sandbox.messages("support") == [] and sandbox.calls() == []
    assert sandbox.deliveries() == [] and web_client(sandbox).auth_test()["ok"]


def test_fake_clock_wakes_sleepers_in_order() -> None:
    clock = FakeClock(start=1000.0)

    async def scenario() -> list[str]:
        woke: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(name)

        tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("soon", 1))]
        await asyncio.sleep(0)
        clock.advance(1)
        await asyncio.sleep(0.01)
        assert woke == ["soon"]
        clock.advance(4)
        await asyncio.gather(*tasks)
        finished, _ = await race_clock(asyncio.sleep(10), clock, 2)
        return [*woke, str(finished)]

    async def with_advancer() -> list[str]:
        task = asyncio.create_task(scenario())
        while not task.done():
            await asyncio.sleep(0.01)
            if clock.num_sleepers and clock.now() >= 1005:
                clock.advance(2)
        return await task

    assert asyncio.run(with_advancer()) == ["soon", "late", "False"]
    assert clock.now() == 1007.0
    with pytest.raises(ValueError):
        clock.advance(-1)
