"""chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink."""

from __future__ import annotations

from typing import Any

from slackemu.methods.base import ApiContext, SlackError
from slackemu.state import Conversation


async def post_message(ctx: ApiContext) -> dict[str, Any]:
    conv = _conversation_for_post(ctx)
    ctx.require_bot_member(conv)
    content = ctx.content(too_long=None)
    thread_ts = ctx.thread_parent_ts(conv)
    metadata = _metadata(ctx)
    msg = ctx.ws.add_message(
        conv,
        ctx.ws.bot_user,
        content.text,
        blocks=content.blocks,
        attachments=content.attachments,
        is_markdown=content.is_markdown,
        thread_ts=thread_ts,
        metadata=metadata,
    )
    ctx.emu.bot_posted(conv, msg)
    return {"ok": True, "channel": conv.id, "ts": msg.ts, "message": ctx.message_view(conv, msg)}


async def update(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    msg = ctx.message(conv)
    if msg.user != ctx.ws.bot_user.id:
        raise SlackError("cant_update_message")
    if msg.is_streaming:
        raise SlackError("streaming_state_conflict")
    content = ctx.content(too_long="msg_too_long")
    previous = ctx.ws.message_dict(conv, msg)
    # Per the docs: text without blocks removes the old blocks.
    msg.text, msg.blocks, msg.is_markdown = content.text, content.blocks, content.is_markdown
    if content.attachments is not None:
        msg.attachments = content.attachments
    metadata = _metadata(ctx)
    if metadata is not None:
        msg.metadata = metadata
    msg.edited = {"user": ctx.ws.bot_user.id, "ts": ctx.ws.ts_source.next()}
    ctx.emu.message_changed(conv, msg, previous)
    return {
        "ok": True,
        "channel": conv.id,
        "ts": msg.ts,
        "text": msg.text,
        "message": ctx.message_view(conv, msg),
    }


async def delete(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    msg = ctx.message(conv)
    if msg.user != ctx.ws.bot_user.id:
        raise SlackError("cant_delete_message")
    ctx.emu.delete_message(conv, msg)
    return {"ok": True, "channel": conv.id, "ts": msg.ts}


async def post_ephemeral(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    ctx.require_bot_member(conv)
    user_id = ctx.str_arg("user")
    if user_id not in conv.members or user_id not in ctx.ws.users:
        raise SlackError("user_not_in_channel")
    content = ctx.content(too_long="msg_too_long")
    thread_ts = ctx.thread_parent_ts(conv)
    eph = ctx.ws.add_ephemeral(
        conv,
        user_id,
        content.text,
        blocks=content.blocks,
        thread_ts=thread_ts,
        sender=ctx.ws.bot_user.id,
        is_markdown=content.is_markdown,
    )
    ctx.emu.ephemeral_posted(eph)
    return {"ok": True, "message_ts": eph.ts}


async def get_permalink(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    msg = ctx.message(conv, "message_ts")
    link = f"{ctx.emu.base_url}/archives/{conv.id}/p{msg.ts.replace('.', '')}"
    if msg.is_reply:
        link += f"?thread_ts={msg.thread_ts}&cid={conv.id}"
    return {"ok": True, "channel": conv.id, "permalink": link}


def _conversation_for_post(ctx: ApiContext) -> Conversation:
    """chat.postMessage also takes a channel name or a user id (the bot's DM with that user)."""
    ref = ctx.str_arg("channel")
    if ref in ctx.ws.users and not ctx.ws.users[ref].is_bot:
        return ctx.ws.dm_with(ref)
    try:
        return ctx.ws.conversation(ref)
    except KeyError:
        raise SlackError("channel_not_found") from None


def _metadata(ctx: ApiContext) -> dict[str, Any] | None:
    metadata = ctx.arg("metadata")
    if metadata is None or metadata == "":
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_payload", {}), dict):
        raise SlackError("invalid_metadata_format")
    return metadata
