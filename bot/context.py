"""Reading the conversation a question belongs to from Slack, and people's display names.

Owns the Slack reads (conversations.replies for threads, conversations.history for the recent
window of a DM, users.info once per person) and hands the pure builder in bot.conversation
what it needs. Never posts anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.conversation import Conversation, build_conversation, mentioned_user_ids
from bot.types import BotIdentity, Question

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
MAX_THREAD_MESSAGES = 1_000


class UserDirectory:
    """Display names by user id: users.info once per person, then cached."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}

    def name(self, user_id: str) -> str:
        with self._lock:
            if user_id in self._names:
                return self._names[user_id]
        name = self._look_up(user_id)
        with self._lock:
            self._names[user_id] = name
        return name

    def names_for(self, messages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """Names of every author and every person mentioned in `messages`."""
        ids: set[str] = set()
        for message in messages:
            if message.get("user") and not message.get("bot_id"):
                ids.add(str(message["user"]))
            ids.update(mentioned_user_ids(str(message.get("text") or "")))
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if isinstance(payload, Mapping) and payload.get("user_id"):
                ids.add(str(payload["user_id"]))
        return {user_id: self.name(user_id) for user_id in sorted(ids)}

    def _look_up(self, user_id: str) -> str:
        try:
            user = self._client.users_info(user=user_id)["user"]
        except (SlackApiError, KeyError, TypeError) as err:
            logger.info("users.info %s failed: %s", user_id, _error_code(err))
            return user_id
        profile = user.get("profile") or {}
        return (
            profile.get("display_name")
            or user.get("real_name")
            or profile.get("real_name")
            or user.get("name")
            or user_id
        )


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
        """The thread's messages, parent first (conversations.replies, paginated)."""
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(messages) < MAX_THREAD_MESSAGES:
            page = self._client.conversations_replies(
                channel=channel_id,
                ts=thread_ts,
                limit=PAGE_SIZE,
                include_all_metadata=True,
                cursor=cursor,
            )
            messages += page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                break
        return messages

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
        names = self.users.names_for(messages)
        return build_conversation(messages, bot=self._bot, question_ts=question.ts, names=names)


def _error_code(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error", "error"))
    return err.__class__.__name__
