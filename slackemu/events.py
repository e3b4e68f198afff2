"""Events API payloads, built as Slack builds them, and the rules for which ones fire.

A new message in a conversation the bot is in yields a `message` event (if the matching
message.* subscription exists) and, in channels, an `app_mention` when it mentions the bot:
two envelopes with distinct event_ids. Edits yield `message_changed`, deletions
`message_deleted`. Pure builders over the workspace; delivery is someone else's job.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from slackemu import ids, specs
from slackemu.manifest import AppConfig
from slackemu.richtext import mentioned_user_ids
from slackemu.state import Conversation, Message, Workspace


def event_callback(
    ws: Workspace, verification_token: str, event: dict[str, Any], now: float
) -> dict[str, Any]:
    """The outer `event_callback` wrapper around one inner event."""
    team_id, app_id = ws.team.id, ws.bot_user.app_id
    context = json.dumps(
        {"et": event["type"], "tid": team_id, "aid": app_id, "cid": event.get("channel", "")},
        separators=(",", ":"),
    )
    return {
        "token": verification_token,
        "team_id": team_id,
        "api_app_id": app_id,
        "event": event,
        "type": "event_callback",
        "event_id": ids.event_id(),
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": ws.bot_user.id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + base64.urlsafe_b64encode(context.encode()).decode().rstrip("="),
        "context_team_id": team_id,
        "context_enterprise_id": None,
    }


def events_for_new_message(
    app: AppConfig, ws: Workspace, conv: Conversation, msg: Message
) -> list[dict[str, Any]]:
    """Inner events Slack sends the app for a message that just appeared."""
    if ws.bot_user.id not in conv.members:
        return []
    events = []
    if app.subscribes_to_messages_in(conv.kind):
        events.append(message_event(ws, conv, msg))
    mentions_bot = ws.bot_user.id in mentioned_user_ids(msg.text)
    if (
        conv.kind != "im"
        and mentions_bot
        and "app_mention" in app.bot_events
        and msg.user != ws.bot_user.id
    ):
        events.append(app_mention_event(ws, conv, msg))
    return events


def events_for_change(
    app: AppConfig, ws: Workspace, conv: Conversation, event: dict[str, Any]
) -> list[dict[str, Any]]:
    """message_changed / message_deleted go wherever message events for `conv` go."""
    if ws.bot_user.id not in conv.members or not app.subscribes_to_messages_in(conv.kind):
        return []
    return [event]


def message_event(ws: Workspace, conv: Conversation, msg: Message) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "message"}
    if msg.subtype:
        event["subtype"] = msg.subtype
    if msg.client_msg_id:
        event["client_msg_id"] = msg.client_msg_id
    event.update(
        user=msg.user,
        text=msg.text,
        ts=msg.ts,
        team=ws.team.id,
        channel=conv.id,
        event_ts=msg.ts,
        channel_type=conv.channel_type,
    )
    _add_author_and_thread(ws, conv, msg, event)
    return event


def app_mention_event(ws: Workspace, conv: Conversation, msg: Message) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "app_mention"}
    if msg.client_msg_id:
        event["client_msg_id"] = msg.client_msg_id
    event.update(
        user=msg.user, text=msg.text, ts=msg.ts, team=ws.team.id, channel=conv.id, event_ts=msg.ts
    )
    _add_author_and_thread(ws, conv, msg, event, with_parent=False)
    return event


def message_changed_event(
    ws: Workspace, conv: Conversation, msg: Message, previous: dict[str, Any]
) -> dict[str, Any]:
    shape = specs.recorded_event("MessageChangedPayload")["event"]
    event_ts = ws.ts_source.next()
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": conv.id,
        "channel_type": conv.channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
        "message": specs.project(ws.message_dict(conv, msg), shape["message"]),
        "previous_message": specs.project(previous, shape["previous_message"]),
    }


def message_deleted_event(
    ws: Workspace, conv: Conversation, previous: dict[str, Any]
) -> dict[str, Any]:
    shape = specs.recorded_event("MessageDeletedPayload")["event"]
    event_ts = ws.ts_source.next()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": conv.id,
        "channel_type": conv.channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
        "deleted_ts": previous["ts"],
        "previous_message": specs.project(previous, shape["previous_message"]),
    }


def app_home_opened_event(
    ws: Workspace, app: AppConfig, user_id: str, channel_id: str, tab: str
) -> dict[str, Any] | None:
    """What Slack sends when a person opens the app's Home (or Messages) tab; None when the
    app does not subscribe. `view` is there once a Home view has been published for them."""
    if "app_home_opened" not in app.bot_events:
        return None
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": ws.ts_source.next(),
    }
    view = ws.home_views.get(user_id)
    if view is not None and tab == "home":
        shape = specs.recorded_event("AppHomeOpenedPayload")["event"]["view"]
        event["view"] = specs.project(view, shape)
    return event


def _add_author_and_thread(
    ws: Workspace, conv: Conversation, msg: Message, event: dict[str, Any], with_parent: bool = True
) -> None:
    author = ws.users.get(msg.user)
    if msg.bot_id and author is not None:
        event.update(bot_id=msg.bot_id, app_id=msg.app_id, bot_profile=ws.bot_profile(author))
    if msg.blocks is not None:
        event["blocks"] = msg.blocks
    if msg.attachments:
        event["attachments"] = msg.attachments
    if msg.thread_ts:
        event["thread_ts"] = msg.thread_ts
        parent = conv.messages.get(msg.thread_ts)
        if with_parent and msg.is_reply and parent is not None:
            event["parent_user_id"] = parent.user
