"""Socket Mode against a real slack_bolt App + SocketModeHandler (slack_sdk's builtin client)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import aiohttp
from slack_bolt import App

from slackemu import Sandbox

from .helpers import bolt_app, socket_mode, web_client


def test_mention_delivers_both_events_and_the_reply_lands(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)
    seen: list[str] = []

    @app.event("app_mention")
    def answer(event: dict, say: Any) -> None:
        seen.append(event["type"])
        say(text=f"Hi <@{event['user']}>!", thread_ts=event["ts"])

    with socket_mode(sandbox, app):
        ts = sandbox.mention("ada", "support", "hello")
        reply = sandbox.wait_for_reply("support", ts, timeout=10)
    assert reply["text"] == f"Hi <@{sandbox.user_id('ada')}>!"
    deliveries = sandbox.deliveries("events_api")
    assert [d.event_type for d in deliveries] == ["message", "app_mention", "message"]
    assert all(d.outcome == "acked" and d.transport == "socket" for d in deliveries)
    assert seen == ["app_mention"]
    assert {a.envelope_id for a in sandbox.acks()} == {d.envelope_id for d in deliveries}


def test_unacked_event_is_redelivered_on_slacks_schedule(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)
    retry_headers: list[str | None] = []

    @app.middleware
    def drop_mentions(body: dict, request: Any, next: Any) -> Any:
        if body.get("event", {}).get("type") == "app_mention":
            retry_headers.append(request.headers.get("x-slack-retry-num", [None])[0])
            return None  # no next(): Bolt answers 404 and sends no ack
        return next()

    def attempts() -> list:
        return [d for d in sandbox.deliveries("events_api") if d.event_type == "app_mention"]

    def timed_out(num_attempts: int) -> bool:
        tries = attempts()
        return len(tries) == num_attempts and tries[-1].outcome == "timeout"

    with socket_mode(sandbox, app):
        sandbox.mention("ada", "support", "hello")
        sandbox.wait_for(lambda: len(retry_headers) == 1)
        sandbox.advance(3.1)  # ack deadline passes: redelivered nearly immediately
        sandbox.wait_for(lambda: len(retry_headers) == 2)
        sandbox.advance(3.1)
        sandbox.wait_for(lambda: timed_out(2))
        sandbox.advance(60)  # second retry after one minute
        sandbox.wait_for(lambda: len(retry_headers) == 3)
        sandbox.advance(3.1)
        sandbox.wait_for(lambda: timed_out(3))
        sandbox.advance(300)  # third and last after five minutes
        sandbox.wait_for(lambda: len(retry_headers) == 4)
        sandbox.advance(3.1)
        sandbox.wait_for(lambda: timed_out(4))
        sandbox.advance(3600)
    tries = attempts()
    assert [(d.attempt, d.retry_reason) for d in tries] == [
        (0, ""),
        (1, "timeout"),
        (2, "timeout"),
        (3, "timeout"),
    ]
    assert len({d.envelope_id for d in tries}) == 4
    assert len({d.event_id for d in tries}) == 1  # same event, new envelopes
    assert retry_headers == ["0", "1", "2", "3"]


def test_refresh_requested_reconnects_with_a_new_ticket(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)

    @app.event("app_mention")
    def answer(event: dict, say: Any) -> None:
        say(text="still here", thread_ts=event["ts"])

    with socket_mode(sandbox, app):
        assert sandbox.disconnect("refresh_requested") == 1
        sandbox.wait_for(lambda: sandbox.emulator.sockets.num_connects == 2, timeout=10)
        sandbox.wait_for(lambda: sandbox.num_connections() == 1, timeout=10)
        ts = sandbox.mention("ada", "support", "are you there?")
        assert sandbox.wait_for_reply("support", ts, timeout=10)["text"] == "still here"
    assert len(sandbox.calls("apps.connections.open")) == 2
    urls = [c.response["url"] for c in sandbox.calls("apps.connections.open")]
    assert urls[0] != urls[1]


def test_dropped_connection_is_reestablished(sandbox: Sandbox) -> None:
    # The builtin client notices a dead TCP stream only when its pings go unanswered
    # (stale after 4 ping intervals; python-slack-sdk#1701), so ping often here.
    with socket_mode(sandbox, bolt_app(sandbox), ping_interval=0.5):
        assert sandbox.drop_sockets() == 1
        sandbox.wait_for(lambda: sandbox.emulator.sockets.num_connects == 2, timeout=20)


def test_events_are_spread_over_open_connections(sandbox: Sandbox) -> None:
    received: dict[str, int] = {"a": 0, "b": 0}

    def counter(name: str) -> Any:
        def count(next: Any) -> Any:
            received[name] += 1
            return next()

        return count

    apps = []
    for name in received:
        app = bolt_app(sandbox)
        app.middleware(counter(name))
        apps.append(app)
    with socket_mode(sandbox, apps[0]), socket_mode(sandbox, apps[1]):
        sandbox.wait_for(lambda: sandbox.num_connections() == 2)
        for i in range(2):
            sandbox.mention("ada", "support", f"q{i}")  # a message and an app_mention each
        sandbox.wait_for(lambda: sum(received.values()) == 4)
    assert received == {"a": 2, "b": 2}


def test_slash_command_ack_payload_and_response_url(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)

    @app.command("/ask")
    def ask(ack: Any, command: dict, respond: Any) -> None:
        ack(text=f"Looking into: {command['text']}")
        respond(text="Here is the answer.", response_type="in_channel")

    with socket_mode(sandbox, app):
        seen = sandbox.slash("ada", "support", "/ask", "VPN?")
        sandbox.wait_for(lambda: sandbox.messages("support"))
    assert seen == {"acked": True, "payload": {"text": "Looking into: VPN?"}, "error": None}
    assert [e["text"] for e in sandbox.ephemerals("ada")] == ["Looking into: VPN?"]
    assert sandbox.messages("support")[-1]["text"] == "Here is the answer."
    envelope = next(d for d in sandbox.deliveries() if d.kind == "slash_commands")
    assert envelope.outcome == "acked"


def test_slash_command_not_acked_in_time(sandbox: Sandbox) -> None:
    with socket_mode(sandbox, bolt_app(sandbox)):  # no /ask listener: Bolt never acks
        pending = sandbox.slash_nowait("ada", "support", "/ask", "hello?")
        sandbox.wait_for(lambda: sandbox.deliveries("slash_commands"))
        sandbox.advance(3.1)
        assert pending.result(5)["error"] == "operation_timeout"
    assert sandbox.ephemerals("ada")[-1]["text"] == '/ask failed with the error "operation_timeout"'
    assert len(sandbox.deliveries("slash_commands")) == 1  # slash commands are never retried


def test_button_click_reaches_the_app_and_can_replace_the_message(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)
    clicks: list[dict] = []

    @app.action("feedback")
    def on_feedback(ack: Any, body: dict, respond: Any) -> None:
        ack()
        clicks.append(body)
        respond(text="Thanks for the feedback!", replace_original=True)

    client = web_client(sandbox)
    posted = client.chat_postMessage(
        channel=sandbox.channel_id("support"),
        text="Answer",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "Answer"}},
            {
                "type": "actions",
                "block_id": "fb",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "feedback",
                        "value": "up",
                        "text": {"type": "plain_text", "text": "👍"},
                    }
                ],
            },
        ],
    )
    with socket_mode(sandbox, app):
        seen = sandbox.click("grace", "support", posted["ts"], "feedback")
        sandbox.wait_for(lambda: sandbox.messages("support")[-1]["text"].startswith("Thanks"))
    assert seen["acked"] is True
    body = clicks[0]
    assert body["type"] == "block_actions"
    assert body["actions"][0] | {"action_ts": ""} == {
        "action_id": "feedback",
        "block_id": "fb",
        "type": "button",
        "value": "up",
        "text": {"type": "plain_text", "text": "👍"},
        "action_ts": "",
    }
    assert body["user"]["id"] == sandbox.user_id("grace")
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": sandbox.channel_id("support"),
        "is_ephemeral": False,
    }
    assert body["message"]["ts"] == posted["ts"] and body["trigger_id"]
    assert body["response_url"].startswith(sandbox.url + "/actions/")


async def _raw_socket(sb: Sandbox, frames: list[dict], *, keep: list | None = None) -> None:
    url = web_client(sb, sb.app_token).apps_connections_open(app_token=sb.app_token)["url"]
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(url, autoping=False)
    frames.append(json.loads((await ws.receive(timeout=5)).data))
    if keep is not None:
        keep.append((session, ws))
        return
    await ws.ping(b"sdk-ping-pong:1")
    pong = await ws.receive(timeout=5)
    frames.append({"pong": pong.type == aiohttp.WSMsgType.PONG, "data": pong.data.decode()})
    await ws.close()
    await session.close()


def test_hello_and_ping(sandbox: Sandbox) -> None:
    frames: list[dict] = []
    asyncio.run(_raw_socket(sandbox, frames))
    hello, pong = frames
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": sandbox.app_id}
    assert hello["debug_info"]["approximate_connection_time"] > 0
    assert pong == {"pong": True, "data": "sdk-ping-pong:1"}


def test_eleventh_socket_is_told_too_many_websockets(sandbox: Sandbox) -> None:
    async def scenario() -> list[dict]:
        frames: list[dict] = []
        kept: list = []
        for _ in range(11):
            await _raw_socket(sandbox, frames, keep=kept)
        for session, ws in kept:
            await ws.close()
            await session.close()
        return frames

    frames = asyncio.run(scenario())
    assert [f["type"] for f in frames] == ["hello"] * 10 + ["disconnect"]
    assert frames[-1]["reason"] == "too_many_websockets"


def test_tickets_are_single_use(sandbox: Sandbox) -> None:
    url = web_client(sandbox).apps_connections_open(app_token=sandbox.app_token)["url"]

    async def connect_twice() -> int:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url):
                pass
            try:
                async with session.ws_connect(url):
                    return 101
            except aiohttp.WSServerHandshakeError as err:
                return err.status

    assert asyncio.run(connect_twice()) == 401


def test_warning_keeps_the_connection(sandbox: Sandbox) -> None:
    app: App = bolt_app(sandbox)
    with socket_mode(sandbox, app):
        sandbox.disconnect("warning")
        threading.Event().wait(0.3)
        assert sandbox.num_connections() >= 1
