"""chat.startStream, chat.appendStream, chat.stopStream: a message that grows while streaming.

A stream accepts appends until it is stopped, stopped by the user (UI "Stop"), or idle for
longer than the emulator's stream TTL (clock-driven). After that Slack answers
`message_not_in_streaming_state`, and the only way to change the message is chat.update.
"""

from __future__ import annotations

from typing import Any

from slackemu.methods.base import ApiContext, SlackError
from slackemu.state import Conversation, Message, StreamState


async def start_stream(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    ctx.require_bot_member(conv)
    thread_ts = ctx.thread_parent_ts(conv)
    recipient_user_id = ctx.str_arg("recipient_user_id") or None
    if conv.kind != "im":
        # "Required when streaming to channels."
        if recipient_user_id is None:
            raise SlackError("missing_recipient_user_id")
        if not ctx.str_arg("recipient_team_id"):
            raise SlackError("missing_recipient_team_id")
    if recipient_user_id is not None and recipient_user_id not in ctx.ws.users:
        raise SlackError("user_not_found")
    text = ctx.markdown_arg() or ""
    now = ctx.emu.clock.now()
    msg = ctx.ws.add_message(
        conv,
        ctx.ws.bot_user,
        text,
        thread_ts=thread_ts,
        is_markdown=True,
        stream=StreamState(
            owner_app_id=ctx.ws.bot_user.app_id or "",
            started_at=now,
            last_append_at=now,
            recipient_user_id=recipient_user_id,
        ),
    )
    ctx.emu.bot_posted(conv, msg)
    return {"ok": True, "channel": conv.id, "ts": msg.ts}


async def append_stream(ctx: ApiContext) -> dict[str, Any]:
    conv, msg = _streaming_message(ctx)
    text = ctx.markdown_arg()
    if text is None:
        raise SlackError(
            "invalid_arguments", _messages=["[ERROR] missing required field: markdown_text"]
        )
    previous = ctx.ws.message_dict(conv, msg)
    msg.text += text
    assert msg.stream is not None
    msg.stream.last_append_at = ctx.emu.clock.now()
    ctx.emu.message_changed(conv, msg, previous)
    return {"ok": True, "channel": conv.id, "ts": msg.ts}


async def stop_stream(ctx: ApiContext) -> dict[str, Any]:
    conv, msg = _streaming_message(ctx)
    text = ctx.markdown_arg()
    blocks = ctx.blocks_arg()
    metadata = ctx.arg("metadata")
    previous = ctx.ws.message_dict(conv, msg)
    if text:
        msg.text += text
    if blocks:
        msg.blocks = blocks
    if isinstance(metadata, dict):
        msg.metadata = metadata
    assert msg.stream is not None
    msg.stream.status = "stopped"
    ctx.emu.message_changed(conv, msg, previous)
    return {"ok": True}


def _streaming_message(ctx: ApiContext) -> tuple[Conversation, Message]:
    conv = ctx.conversation()
    msg = ctx.message(conv)
    if msg.app_id != ctx.ws.bot_user.app_id:
        raise SlackError("message_not_owned_by_app")
    ctx.emu.expire_idle_stream(msg)
    if msg.stream is not None and msg.stream.status == "stopped_by_user":
        raise SlackError("stopped_by_user")
    if not msg.is_streaming:
        raise SlackError("message_not_in_streaming_state")
    return conv, msg
