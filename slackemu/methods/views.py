"""views.publish: the app's Home tab, one view per user, as Slack stores and returns it."""

from __future__ import annotations

import json
from typing import Any

from slackemu import ids
from slackemu.blocks import MAX_VIEW_BLOCKS, block_problem
from slackemu.methods.base import ApiContext, SlackError, with_block_ids

MAX_VIEW_BYTES = 250_000  # "view_too_large: ... greater than 250kb"


async def publish(ctx: ApiContext) -> dict[str, Any]:
    if not ctx.emu.app.home_tab_enabled:
        raise SlackError("not_enabled")
    user = ctx.ws.users.get(ctx.str_arg("user_id"))
    if user is None or user.is_bot:
        raise SlackError(
            "invalid_arguments",
            _messages=["[ERROR] user_id must be the id of a person in the workspace"],
        )
    view = ctx.arg("view")
    if not isinstance(view, dict):
        ctx.violation("view must be a JSON object (a JSON-encoded string in form bodies)")
        raise SlackError("invalid_arguments", _messages=["[ERROR] view must be an object"])
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    if view.get("type") != "home":
        ctx.violation(f"view type {view.get('type')!r}: views.publish publishes type 'home'")
        raise SlackError(
            "invalid_arguments",
            _messages=["[ERROR] failed to match all allowed schemas [json-pointer:/view/type]"],
        )
    problem = block_problem(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
    if problem is not None:
        ctx.violation(f"view.blocks: {problem.detail}")
        raise SlackError("invalid_arguments", _messages=[f"[ERROR] view.blocks: {problem.detail}"])
    previous = ctx.ws.home_views.get(user.id)
    given_hash = ctx.str_arg("hash")
    if given_hash and previous is not None and given_hash != previous["hash"]:
        raise SlackError("hash_conflict")
    stored = stored_view(ctx, view, previous)
    ctx.ws.home_views[user.id] = stored
    ctx.emu.home_published(user.id)
    return {"ok": True, "view": stored}


def stored_view(
    ctx: ApiContext, view: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The view as Slack keeps it: ids and hash added, block_ids filled in."""
    bot = ctx.ws.bot_user
    view_id = previous["id"] if previous else ids.view_id()
    stored: dict[str, Any] = {
        "id": view_id,
        "team_id": ctx.ws.team.id,
        "type": "home",
        "blocks": with_block_ids(list(view.get("blocks", []))),
        "private_metadata": str(view.get("private_metadata", "")),
        "callback_id": str(view.get("callback_id", "")),
        "state": {"values": {}},
        "hash": f"{int(ctx.emu.clock.now())}.{ids.block_id()}",
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": bot.app_id,
        "external_id": str(view.get("external_id", "")),
        "app_installed_team_id": ctx.ws.team.id,
        "bot_id": bot.bot_id,
    }
    if isinstance(view.get("title"), dict):
        stored["title"] = view["title"]
    return stored
