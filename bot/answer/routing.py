"""Which Slack events deserve an answer: pure decisions over event payloads.

People only (never a `bot_id`, our own posts, edits, deletions or system subtypes). A channel
message that mentions the bot is a mention whatever event carried it; a thread reply without
one is a follow-up (answered in the bot's threads only); DMs are always candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.answer.conversation import mentioned_user_ids
from bot.types import BotIdentity, Question, QuestionKind

ANSWERED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


@dataclass(frozen=True, slots=True)
class Route:
    question: Question | None
    needs_thread_check: bool = False  # a follow-up: answer only if the bot is in the thread
    reason: str = ""  # why it is ignored (for debug logs)


def ignore(reason: str) -> Route:
    return Route(None, reason=reason)


def route_event(
    event: Mapping[str, Any],
    *,
    bot: BotIdentity,
    event_id: str | None = None,
    team_id: str | None = None,
    thread_followups: bool = True,
) -> Route:
    """What to do with an `app_mention` or `message` event."""
    if event.get("type") not in ("app_mention", "message"):
        return ignore("not a message")
    if event.get("subtype") not in ANSWERED_SUBTYPES or event.get("hidden"):
        return ignore(f"subtype {event.get('subtype')}")
    if event.get("bot_id") or event.get("bot_profile"):
        return ignore("from a bot")
    user_id = str(event.get("user") or "")
    if not user_id or user_id == bot.user_id:
        return ignore("from no user or from us")
    channel_id, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
    if not channel_id or not ts:
        return ignore("no channel or ts")
    text = str(event.get("text") or "")
    thread_ts = event.get("thread_ts") or None
    is_dm = event.get("channel_type") == "im" or channel_id.startswith("D")
    mentioned = mentioned_user_ids(text)
    kind: QuestionKind
    if is_dm:
        kind = "dm"
    elif event.get("type") == "app_mention" or bot.user_id in mentioned:
        kind = "mention"
    elif thread_ts and thread_ts != ts and thread_followups:
        if any(u != bot.user_id for u in mentioned):
            return ignore("addressed to someone else")
        kind = "followup"
    else:
        return ignore("channel message without a mention")
    question = Question(
        kind=kind,
        channel_id=channel_id,
        user_id=user_id,
        team_id=str(event.get("team") or team_id or bot.team_id),
        ts=ts,
        text=text,
        thread_ts=thread_ts,
        is_dm=is_dm,
        event_id=event_id,
    )
    return Route(question, needs_thread_check=kind == "followup")


def is_allowed(
    question: Question, *, allowed_channels: Sequence[str], allowed_users: Sequence[str]
) -> bool:
    """The optional allowlists: channels (not DMs) by id, users by id; empty lists allow all."""
    if allowed_users and question.user_id not in allowed_users:
        return False
    return not (
        allowed_channels and not question.is_dm and question.channel_id not in allowed_channels
    )


def bot_is_in_thread(messages: Sequence[Mapping[str, Any]], bot: BotIdentity) -> bool:
    """Whether the bot has posted in this thread (or started it). The parent's reply_users
    covers a long thread whose bot replies are older than the replies read."""
    return any(
        m.get("user") == bot.user_id
        or (m.get("bot_id") and m.get("bot_id") == bot.bot_id)
        or bot.user_id in (m.get("reply_users") or ())
        for m in messages
    )
