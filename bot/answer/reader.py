"""Reading the conversation a question belongs to from Slack, and people's display names.

Owns the Slack reads (conversations.replies for threads, conversations.history for the recent
window of a DM, users.info per person, cached with a TTL and a size bound) and hands the pure
builder in bot.answer.conversation what it needs. A long thread is read to its end keeping only its
parent and newest replies, then cut to the newest `MAX_CONTEXT_CHARS` of text. Never posts.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answer.conversation import Conversation, build_conversation, mentioned_user_ids, ts_key
from bot.types import BotIdentity, Question

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
MAX_THREAD_PAGES = 50  # 10,000 replies read at most
MAX_THREAD_MESSAGES = 1_000  # the newest replies kept (plus the parent)
MAX_CONTEXT_CHARS = 200_000  # of message text handed to the builder, newest first

NAME_TTL_S = 3600.0
FAILED_NAME_TTL_S = 60.0
MAX_CACHED_NAMES = 10_000
MAX_LOOKUPS_PER_READ = 20  # users.info calls for one conversation; the rest show their id


class UserDirectory:
    """Display names by user id: users.info, cached for an hour (a failure for a minute)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._names: TTLCache[str, str] = TTLCache(MAX_CACHED_NAMES, NAME_TTL_S)
        self._failed: TTLCache[str, str] = TTLCache(MAX_CACHED_NAMES, FAILED_NAME_TTL_S)

    def name(self, user_id: str) -> str:
        cached = self.cached(user_id)
        if cached is not None:
            return cached
        name = self._look_up(user_id)
        with self._lock:
            (self._failed if name is None else self._names)[user_id] = name or user_id
        return name or user_id

    def cached(self, user_id: str) -> str | None:
        with self._lock:
            return self._names.get(user_id) or self._failed.get(user_id)

    def names_for(self, messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Names of the authors and people mentioned in `messages`, newest first; at most
        MAX_LOOKUPS_PER_READ of them not cached yet are looked up, the rest keep their id."""
        names: dict[str, str] = {}
        lookups = 0
        for user_id in _people(reversed(messages)):
            if user_id in names:
                continue
            cached = self.cached(user_id)
            if cached is None and lookups < MAX_LOOKUPS_PER_READ:
                lookups += 1
                cached = self.name(user_id)
            names[user_id] = cached or user_id
        return names

    def _look_up(self, user_id: str) -> str | None:
        try:
            user = self._client.users_info(user=user_id)["user"]
        except (SlackApiError, KeyError, TypeError) as err:
            logger.info("users.info %s failed: %s", user_id, _error_code(err))
            return None
        profile = user.get("profile") or {}
        return (
            profile.get("display_name")
            or user.get("real_name")
            or profile.get("real_name")
            or user.get("name")
            or user_id
        )


def _people(messages: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """User ids in each message: its author, the /ask asker we posted for, then mentions."""
    for message in messages:
        if message.get("user") and not message.get("bot_id"):
            yield str(message["user"])
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if isinstance(payload, Mapping) and payload.get("user_id"):
            yield str(payload["user_id"])
        yield from mentioned_user_ids(str(message.get("text") or ""))


def newest_within(
    messages: Sequence[Mapping[str, Any]], question_ts: str, max_chars: int
) -> list[Mapping[str, Any]]:
    """The first message (a thread's parent) and the newest messages up to the question whose
    text fits in `max_chars`, oldest first. The question itself is always kept."""
    if not messages:
        return []
    limit = ts_key(question_ts)
    first, rest = messages[0], [m for m in messages[1:] if ts_key(str(m.get("ts", "0"))) <= limit]
    kept: list[Mapping[str, Any]] = []
    used = len(str(first.get("text") or ""))
    for message in reversed(rest):
        used += len(str(message.get("text") or ""))
        if used > max_chars and message.get("ts") != question_ts:
            break
        kept.append(message)
    return [first, *reversed(kept)]


class ConversationReader:
    """The turns a question should be answered from."""

    def __init__(
        self, client: WebClient, bot: BotIdentity, users: UserDirectory, *, dm_history_limit: int
    ) -> None:
        self._client = client
        self._bot = bot
        self.users = users
        self._dm_history_limit = dm_history_limit

    def thread(self, channel_id: str, thread_ts: str) -> list[dict[str, Any]]:
        """The thread's parent and its newest MAX_THREAD_MESSAGES replies, oldest first
        (conversations.replies, paginated to the end, at most MAX_THREAD_PAGES pages)."""
        parent: list[dict[str, Any]] = []
        replies: deque[dict[str, Any]] = deque(maxlen=MAX_THREAD_MESSAGES)
        cursor: str | None = None
        for _ in range(MAX_THREAD_PAGES):
            page = self._client.conversations_replies(
                channel=channel_id,
                ts=thread_ts,
                limit=PAGE_SIZE,
                include_all_metadata=True,
                cursor=cursor,
            )
            messages = list(page.get("messages") or [])
            if not parent and messages:
                parent, messages = messages[:1], messages[1:]
            replies.extend(messages)
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                break
        else:
            logger.warning(
                "thread %s/%s: read the first %d pages only",
                channel_id,
                thread_ts,
                MAX_THREAD_PAGES,
            )
        return [*parent, *replies]

    def dm_window(self, channel_id: str, latest_ts: str) -> list[dict[str, Any]]:
        """The most recent top-level DM messages up to the question, oldest first."""
        page = self._client.conversations_history(
            channel=channel_id,
            latest=latest_ts,
            inclusive=True,
            limit=self._dm_history_limit,
            include_all_metadata=True,
        )
        return list(reversed(page.get("messages") or []))

    def read(
        self, question: Question, prefetched: Sequence[Mapping[str, Any]] | None = None
    ) -> Conversation:
        messages: list[Mapping[str, Any]]
        if prefetched is not None:
            messages = list(prefetched)
        elif not question.ts:  # a private /ask: the question is the whole conversation
            messages = []
        elif question.reply_thread_ts is None:
            messages = list(self.dm_window(question.channel_id, question.ts))
        else:
            messages = list(self.thread(question.channel_id, question.reply_thread_ts))
        if not any(m.get("ts") == question.ts for m in messages):
            # Not visible yet (or outside the window): the event itself is the question.
            messages.append(
                {
                    "type": "message",
                    "user": question.user_id,
                    "text": question.text,
                    "ts": question.ts,
                }
            )
        messages = newest_within(messages, question.ts, MAX_CONTEXT_CHARS)
        names = self.users.names_for(messages)
        return build_conversation(messages, bot=self._bot, question_ts=question.ts, names=names)


def _error_code(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error", "error"))
    return err.__class__.__name__
