"""chat.startStream / appendStream / stopStream, with slack_sdk's own ChatStream too, and
the server-side expiry that forces a chat.update fallback."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from slackemu import Sandbox

from .helpers import web_client


def _start(sb: Sandbox, parent: str, **kwargs: object) -> str:
    return web_client(sb).chat_startStream(
        channel=sb.channel_id("support"),
        thread_ts=parent,
        recipient_user_id=sb.user_id("ada"),
        recipient_team_id=sb.team_id,
        **kwargs,
    )["ts"]


def test_stream_grows_then_stops(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.mention("ada", "support", "q")
    ts = _start(sandbox, parent, markdown_text="Hello")
    assert sandbox.is_streaming("support", ts)
    client.chat_appendStream(channel=support, ts=ts, markdown_text=", **world**")
    client.chat_appendStream(
        channel=support, ts=ts, chunks=[{"type": "markdown_text", "text": "!"}]
    )
    client.chat_stopStream(
        channel=support,
        ts=ts,
        blocks=[
            {
                "type": "context_actions",
                "elements": [
                    {
                        "type": "feedback_buttons",
                        "action_id": "feedback",
                        "positive_button": {
                            "text": {"type": "plain_text", "text": "Good"},
                            "value": "up",
                        },
                        "negative_button": {
                            "text": {"type": "plain_text", "text": "Bad"},
                            "value": "dn",
                        },
                    }
                ],
            }
        ],
    )
    assert not sandbox.is_streaming("support", ts)
    reply = sandbox.wait_for_reply("support", parent, timeout=5, quiet_s=0)
    assert reply["text"] == "Hello, **world**!"
    assert reply["blocks"][0]["type"] == "context_actions"
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        client.chat_appendStream(channel=support, ts=ts, markdown_text="more")


def test_slack_sdk_chat_stream_helper(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    parent = sandbox.mention("ada", "support", "q")
    stream = client.chat_stream(
        channel=sandbox.channel_id("support"),
        thread_ts=parent,
        recipient_team_id=sandbox.team_id,
        recipient_user_id=sandbox.user_id("ada"),
        buffer_size=8,
    )
    for word in ("streams ", "are ", "chunked ", "markdown"):
        stream.append(markdown_text=word)
    stream.stop()
    assert sandbox.thread("support", parent)[-1]["text"] == "streams are chunked markdown"
    assert [c.method for c in sandbox.calls()][-3:] == [
        "chat.appendStream",
        "chat.appendStream",
        "chat.stopStream",
    ]


def test_dm_streams_need_no_recipient(sandbox: Sandbox) -> None:
    parent = sandbox.dm("ada", "hi")
    dm = sandbox.dm_channel("ada")
    response = web_client(sandbox).chat_startStream(
        channel=dm, thread_ts=parent, markdown_text="hello"
    )
    assert response["ok"] and sandbox.is_streaming(dm, response["ts"])


def test_idle_stream_expires_and_update_takes_over(make_sandbox) -> None:
    sb = make_sandbox(stream_ttl_s=30.0)
    client = web_client(sb)
    support = sb.channel_id("support")
    parent = sb.mention("ada", "support", "q")
    ts = _start(sb, parent, markdown_text="partial")
    sb.advance(29)
    client.chat_appendStream(channel=support, ts=ts, markdown_text=" answer")  # resets idle time
    with pytest.raises(SlackApiError, match="streaming_state_conflict"):
        client.chat_update(channel=support, ts=ts, text="too early")
    sb.advance(31)
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        client.chat_appendStream(channel=support, ts=ts, markdown_text="lost")
    client.chat_update(channel=support, ts=ts, markdown_text="partial answer, finished")
    assert sb.thread("support", parent)[-1]["text"] == "partial answer, finished"


def test_expire_stream_fault(sandbox: Sandbox) -> None:
    parent = sandbox.mention("ada", "support", "q")
    ts = _start(sandbox, parent)
    sandbox.expire_stream("support", ts)
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        web_client(sandbox).chat_stopStream(channel=sandbox.channel_id("support"), ts=ts)


def test_user_pressing_stop(sandbox: Sandbox) -> None:
    parent = sandbox.mention("ada", "support", "q")
    ts = _start(sandbox, parent, markdown_text="a")
    sandbox.stop_stream("support", ts)
    with pytest.raises(SlackApiError, match="stopped_by_user"):
        web_client(sandbox).chat_appendStream(
            channel=sandbox.channel_id("support"), ts=ts, markdown_text="b"
        )


def test_append_needs_text_or_chunks(sandbox: Sandbox) -> None:
    parent = sandbox.mention("ada", "support", "q")
    ts = _start(sandbox, parent)
    client = web_client(sandbox)
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.api_call(
            "chat.appendStream", json={"channel": sandbox.channel_id("support"), "ts": ts}
        )
    with pytest.raises(SlackApiError, match="invalid_chunks"):
        client.api_call(
            "chat.appendStream",
            json={"channel": sandbox.channel_id("support"), "ts": ts, "chunks": [{"type": "gif"}]},
        )
    found = sandbox.take_violations()
    assert "missing required argument 'markdown_text'" in found[0]
    assert "unknown type 'gif'" in found[1]


def test_stream_edits_arrive_as_message_changed(sandbox: Sandbox) -> None:
    parent = sandbox.mention("ada", "support", "q")
    ts = _start(sandbox, parent, markdown_text="a")
    web_client(sandbox).chat_appendStream(
        channel=sandbox.channel_id("support"), ts=ts, markdown_text="b"
    )
    changed = [
        d.payload["event"]
        for d in sandbox.deliveries()
        if d.payload["event"].get("subtype") == "message_changed"
    ]
    assert changed and changed[-1]["message"]["text"] == "ab" and changed[-1]["hidden"] is True


def test_stop_stream_blocks_are_limited_to_fifty(sandbox: Sandbox) -> None:
    parent = sandbox.mention("ada", "support", "q")
    ts = _start(sandbox, parent)
    with pytest.raises(SlackApiError, match="msg_blocks_too_many"):
        web_client(sandbox).chat_stopStream(
            channel=sandbox.channel_id("support"), ts=ts, blocks=[{"type": "divider"}] * 51
        )
    assert "51 blocks (max 50)" in sandbox.take_violations()[0]
