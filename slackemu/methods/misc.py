"""auth.test, apps.connections.open, team.info, bots.info, users.info, reactions.add/remove,
assistant.threads.setStatus/setTitle/setSuggestedPrompts."""

from __future__ import annotations

import re
from typing import Any

from slackemu.methods.base import ApiContext, SlackError
from slackemu.state import Conversation

MAX_LOADING_MESSAGES = 10
MAX_SUGGESTED_PROMPTS = 4
EMOJI_NAME_RE = re.compile(r"^[a-z0-9_+\-']+(::skin-tone-[2-6])?$")


async def auth_test(ctx: ApiContext) -> dict[str, Any]:
    ws, bot = ctx.ws, ctx.ws.bot_user
    return {
        "ok": True,
        "url": f"https://{ws.team.domain}.slack.com/",
        "team": ws.team.name,
        "user": bot.name,
        "team_id": ws.team.id,
        "user_id": bot.id,
        "bot_id": bot.bot_id,
        "is_enterprise_install": False,
    }


async def apps_connections_open(ctx: ApiContext) -> dict[str, Any]:
    return {"ok": True, "url": ctx.emu.sockets.issue_url()}


async def team_info(ctx: ApiContext) -> dict[str, Any]:
    team = ctx.ws.team
    icon = {"image_default": True, **{f"image_{n}": "" for n in (34, 44, 68, 88, 102, 132)}}
    return {
        "ok": True,
        "team": {
            "id": team.id,
            "name": team.name,
            "domain": team.domain,
            "email_domain": "",
            "icon": icon,
            "is_verified": False,
            "url": f"https://{team.domain}.slack.com/",
        },
    }


async def bots_info(ctx: ApiContext) -> dict[str, Any]:
    bot_id = ctx.str_arg("bot") or ctx.ws.bot_user.bot_id
    user = next((u for u in ctx.ws.bot_users() if u.bot_id == bot_id), None)
    if user is None:
        raise SlackError("bot_not_found")
    profile = ctx.ws.bot_profile(user)
    return {
        "ok": True,
        "bot": {
            "id": user.bot_id,
            "deleted": False,
            "name": user.label,
            "updated": user.created,
            "app_id": user.app_id,
            "user_id": user.id,
            "icons": profile["icons"],
        },
    }


async def users_info(ctx: ApiContext) -> dict[str, Any]:
    user = ctx.ws.users.get(ctx.str_arg("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": ctx.ws.user_dict(user)}


async def reactions_add(ctx: ApiContext) -> dict[str, Any]:
    conv, ts, name = _reaction_target(ctx)
    msg = conv.messages[ts]
    users = msg.reactions.setdefault(name, [])
    if ctx.ws.bot_user.id in users:
        raise SlackError("already_reacted")
    users.append(ctx.ws.bot_user.id)
    ctx.emu.message_touched(conv, msg)
    return {"ok": True}


async def reactions_remove(ctx: ApiContext) -> dict[str, Any]:
    conv, ts, name = _reaction_target(ctx)
    msg = conv.messages[ts]
    users = msg.reactions.get(name, [])
    if ctx.ws.bot_user.id not in users:
        raise SlackError("no_reaction")
    users.remove(ctx.ws.bot_user.id)
    if not users:
        del msg.reactions[name]
    ctx.emu.message_touched(conv, msg)
    return {"ok": True}


def _reaction_target(ctx: ApiContext) -> tuple[Conversation, str, str]:
    if not ctx.str_arg("channel") or not ctx.str_arg("timestamp"):
        raise SlackError("no_item_specified")
    conv = ctx.conversation()
    # NOTE: Slack documents no not_in_channel here; a conversation the bot cannot see is missing.
    ctx.require_bot_member(conv, code="channel_not_found")
    name = ctx.str_arg("name")
    if not EMOJI_NAME_RE.match(name):
        if name.startswith(":") and name.endswith(":"):
            ctx.violation(f"reaction name {name!r} must be given without colons")
        raise SlackError("invalid_name")
    ts = ctx.str_arg("timestamp")
    if ts not in conv.messages:
        raise SlackError("message_not_found")
    return conv, ts, name


async def assistant_set_status(ctx: ApiContext) -> dict[str, Any]:
    conv, thread_ts = _assistant_thread(ctx)
    loading = ctx.arg("loading_messages") or []
    if not isinstance(loading, list) or len(loading) > MAX_LOADING_MESSAGES:
        raise SlackError(
            "invalid_arguments",
            _messages=[f"[ERROR] loading_messages: at most {MAX_LOADING_MESSAGES} strings"],
        )
    thread = ctx.ws.assistant_thread(conv.id, thread_ts)
    thread.status = ctx.str_arg("status")
    thread.loading_messages = [str(m) for m in loading]
    thread.status_set_at = ctx.emu.clock.now()
    ctx.emu.status_changed(conv.id, thread_ts)
    return {"ok": True}


async def assistant_set_title(ctx: ApiContext) -> dict[str, Any]:
    conv, thread_ts = _assistant_thread(ctx)
    ctx.ws.assistant_thread(conv.id, thread_ts).title = ctx.str_arg("title")
    return {"ok": True}


async def assistant_set_prompts(ctx: ApiContext) -> dict[str, Any]:
    conv, thread_ts = _assistant_thread(ctx)
    prompts = ctx.arg("prompts")
    if (
        not isinstance(prompts, list)
        or not 0 < len(prompts) <= MAX_SUGGESTED_PROMPTS
        or not all(isinstance(p, dict) and "title" in p and "message" in p for p in prompts)
    ):
        raise SlackError(
            "invalid_arguments",
            _messages=[
                f"[ERROR] prompts: 1..{MAX_SUGGESTED_PROMPTS} objects with title and message"
            ],
        )
    ctx.ws.assistant_thread(conv.id, thread_ts).prompts = prompts
    return {"ok": True}


def _assistant_thread(ctx: ApiContext) -> tuple[Conversation, str]:
    conv = ctx.conversation("channel_id")
    thread_ts = ctx.str_arg("thread_ts")
    if thread_ts not in conv.messages:
        raise SlackError("invalid_thread_ts")
    return conv, thread_ts
