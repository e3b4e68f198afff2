"""conversations.replies, conversations.history, conversations.info, conversations.open.

Reads need the bot in the conversation. Pagination uses opaque cursors (base64 of the next
ts), `limit`, `oldest`/`latest`/`inclusive`, as Slack documents them.
"""

from __future__ import annotations

import base64
from typing import Any

from slackemu import specs
from slackemu.ids import ts_key
from slackemu.methods.base import ApiContext, SlackError
from slackemu.state import Conversation, Message


async def replies(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    # NOTE: Slack documents no not_in_channel for replies; a hidden channel looks missing.
    ctx.require_bot_member(conv, code="channel_not_found")
    target = conv.messages.get(ctx.str_arg("ts"))
    if target is None:
        raise SlackError("thread_not_found")
    parent_ts = target.thread_ts if target.is_reply else target.ts
    parent = conv.messages.get(parent_ts or "")
    if parent is None:
        raise SlackError("thread_not_found")
    thread = [parent, *_in_window(ctx, conv.replies(parent.ts))]
    page, next_cursor = _page(ctx, thread, default_limit=1000)
    body: dict[str, Any] = {
        "ok": True,
        "messages": _shaped(ctx, conv, page),
        "has_more": bool(next_cursor),
    }
    if next_cursor:
        body["response_metadata"] = {"next_cursor": next_cursor}
    return body


async def history(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    ctx.require_bot_member(conv)
    newest_first = list(reversed(_in_window(ctx, conv.top_level())))
    page, next_cursor = _page(ctx, newest_first, default_limit=100)
    return {
        "ok": True,
        "messages": _shaped(ctx, conv, page),
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


async def info(ctx: ApiContext) -> dict[str, Any]:
    conv = ctx.conversation()
    if conv.kind == "im" and ctx.ws.bot_user.id not in conv.members:
        raise SlackError("channel_not_found")
    return {"ok": True, "channel": ctx.ws.conversation_dict(conv)}


async def open_conversation(ctx: ApiContext) -> dict[str, Any]:
    channel_ref = ctx.str_arg("channel")
    if channel_ref:
        conv = ctx.ws.conversations.get(channel_ref)
        if conv is None or conv.kind != "im":
            raise SlackError("channel_not_found")
        already_open = True
    else:
        user_ids = [u.strip() for u in ctx.str_arg("users").split(",") if u.strip()]
        if not user_ids:
            raise SlackError("users_list_not_supplied")
        if len(user_ids) > 1:
            raise SlackError("method_not_supported_for_channel_type")
        if user_ids[0] not in ctx.ws.users or ctx.ws.users[user_ids[0]].is_bot:
            raise SlackError("user_not_found")
        existing = {c.id for c in ctx.ws.conversations.values()}
        conv = ctx.ws.dm_with(user_ids[0])
        already_open = conv.id in existing
    channel: dict[str, Any] = {"id": conv.id}
    if ctx.bool_arg("return_im"):
        channel.update(
            created=conv.created,
            is_archived=False,
            is_im=True,
            is_org_shared=False,
            user=conv.im_user,
            is_open=True,
            last_read="0000000000.000000",
            context_team_id=ctx.ws.team.id,
            updated=conv.created * 1000,
        )
    body: dict[str, Any] = {"ok": True, "channel": channel}
    if already_open:
        body.update(no_op=True, already_open=True)
    return body


def _shaped(ctx: ApiContext, conv: Conversation, page: list[Message]) -> list[dict[str, Any]]:
    """Messages as this method returns them: metadata only with include_all_metadata, and only
    keys Slack's recorded samples of this method show."""
    include_metadata = ctx.bool_arg("include_all_metadata")
    recorded = specs.merged_shape((specs.recorded_response(ctx.method) or {}).get("messages", []))
    return [
        specs.project(
            ctx.ws.message_dict(conv, m, include_metadata=include_metadata), recorded or {}
        )
        for m in page
    ]


def _in_window(ctx: ApiContext, messages: list[Message]) -> list[Message]:
    """Messages between `oldest` and `latest` (exclusive unless `inclusive`)."""
    inclusive = ctx.bool_arg("inclusive")
    try:
        oldest = ts_key(ctx.str_arg("oldest")) if ctx.str_arg("oldest") else None
        latest = ts_key(ctx.str_arg("latest")) if ctx.str_arg("latest") else None
    except ValueError:
        raise SlackError(
            "invalid_ts_oldest" if ctx.str_arg("oldest") else "invalid_ts_latest"
        ) from None
    kept = []
    for msg in messages:
        key = ts_key(msg.ts)
        if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
            continue
        if latest is not None and (key > latest or (key == latest and not inclusive)):
            continue
        kept.append(msg)
    return kept


def _page(ctx: ApiContext, items: list[Message], default_limit: int) -> tuple[list[Message], str]:
    limit = max(1, min(ctx.int_arg("limit", default_limit), 1000))
    start = 0
    cursor = ctx.str_arg("cursor")
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("next_index:"))
        except ValueError:
            raise SlackError("invalid_cursor") from None
    page = items[start : start + limit]
    has_more = start + limit < len(items)
    next_cursor = (
        base64.b64encode(f"next_index:{start + limit}".encode()).decode() if has_more else ""
    )
    return page, next_cursor
