"""A Slack conversation (thread replies or recent DM history) as chat turns for the model.

Pure: the bot's posts become assistant turns, everyone else's user turns named after their
author; mentions stripped, Slack markup spelt out, files noted. `fit_to_window` trims the
oldest turns to the token budget (measuring each kept turn about once), keeping the first
message and the question.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.slack.blocks import NOTICE_EVENT, QUESTION_EVENT
from bot.types import BotIdentity
from engine import ChatMessage

ANGLE_RE = re.compile(r"<([^<>\n]{1,500})>")
SKIPPED_SUBTYPES = frozenset(
    {
        "message_changed",
        "message_deleted",
        "message_replied",
        "tombstone",
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "group_join",
        "group_leave",
        "ekm_access_denied",
        "joiner_notification",
    }
)
ELLIPSIS = "…"
MAX_RECHECKS = 3  # counts of the chosen prompt before falling back to first + question
CHUNK_CHARS = 4_000  # the middle of a long conversation is measured this many chars at a time
MAX_CHARS_PER_TOKEN = 8  # no tokenizer packs more on average: a window's worth of text


@dataclass(frozen=True, slots=True)
class Conversation:
    """Turns oldest first; the last turn is the question (a user turn)."""

    turns: list[ChatMessage]  # user turns carry "Name: " in front
    question: str  # the question's own text, cleaned, without the name prefix
    history: list[ChatMessage]  # the turns before the question, without name prefixes


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str
    name: str | None = None  # who wrote a user turn

    def as_message(self, *, named: bool) -> ChatMessage:
        named_text = f"{self.name}: {self.text}" if named and self.name else self.text
        return {"role": self.role, "content": named_text}


def build_conversation(
    messages: Sequence[Mapping[str, Any]],
    *,
    bot: BotIdentity,
    question_ts: str,
    names: Mapping[str, str],
) -> Conversation:
    """Turns from Slack messages (oldest first) up to and including the question at
    `question_ts`; later messages are ignored. `names` maps user ids to display names."""
    turns: list[Turn] = []
    question = ""
    for message in messages:
        if ts_key(str(message.get("ts", "0"))) > ts_key(question_ts):
            continue
        turn = to_turn(message, bot=bot, names=names)
        if turn is None:
            continue
        if turns and turn.role == "assistant" == turns[-1].role:
            turns[-1] = Turn("assistant", turns[-1].text + "\n" + turn.text)  # parts
        else:
            turns.append(turn)
        if message.get("ts") == question_ts:
            question = turn.text
    if not turns or turns[-1].role != "user":
        turns.append(Turn("user", question))
    return Conversation(
        [t.as_message(named=True) for t in turns],
        question,
        [t.as_message(named=False) for t in turns[:-1]],
    )


def to_turn(
    message: Mapping[str, Any], *, bot: BotIdentity, names: Mapping[str, str]
) -> Turn | None:
    """One Slack message as a chat turn, or None for what the model should not see."""
    if message.get("subtype") in SKIPPED_SUBTYPES:
        return None
    metadata = message.get("metadata") or {}
    kind = metadata.get("event_type")
    text = message_text(message, bot=bot, names=names)
    if kind == NOTICE_EVENT or not text:
        return None
    if kind == QUESTION_EVENT:  # a /ask question we posted on a user's behalf
        asker = str((metadata.get("event_payload") or {}).get("user_id", ""))
        return Turn("user", asked_text(text), names.get(asker, asker or "someone"))
    if message.get("user") == bot.user_id or (
        message.get("bot_id") and message.get("bot_id") == bot.bot_id
    ):
        return Turn("assistant", text)
    return Turn("user", text, author_name(message, names))


def message_text(message: Mapping[str, Any], *, bot: BotIdentity, names: Mapping[str, str]) -> str:
    """Readable text: mentions and links spelt out, the bot's mention removed, files noted."""
    text = clean_text(str(message.get("text") or ""), bot_user_id=bot.user_id, names=names)
    notes = [
        f"[attached file: {_file_label(f)}]"
        for f in message.get("files") or []
        if isinstance(f, Mapping)
    ]
    notes += [
        f"[attachment: {_attachment_label(a)}]"
        for a in message.get("attachments") or []
        if isinstance(a, Mapping)
    ]
    return "\n".join(part for part in [text, *notes] if part)


def clean_text(text: str, *, bot_user_id: str, names: Mapping[str, str]) -> str:
    def spell(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "" if user_id == bot_user_id else "@" + (label or names.get(user_id, user_id))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label.lstrip("@") or target[1:].split("^")[0])
        return f"{label} ({target})" if label and label != target else target

    spelt = ANGLE_RE.sub(spell, text)
    return html.unescape(re.sub(r"[ \t]{2,}", " ", spelt)).strip()


def mentioned_user_ids(text: str) -> list[str]:
    return [
        m.group(1)[1:].partition("|")[0]
        for m in ANGLE_RE.finditer(text)
        if m.group(1).startswith("@")
    ]


def author_name(message: Mapping[str, Any], names: Mapping[str, str]) -> str:
    profile = message.get("bot_profile") or {}
    user_id = str(message.get("user") or "")
    return (
        names.get(user_id) or profile.get("name") or message.get("username") or user_id or "someone"
    )


def fit_to_window(
    system: ChatMessage | None,
    turns: list[ChatMessage],
    count_tokens: Callable[[list[ChatMessage]], int],
    budget: int,
) -> tuple[list[ChatMessage], int]:
    """The prompt within `budget` tokens and how many turns were left out.

    The oldest turns go first; the first turn (the thread's opening message) and the last
    (the question) always stay, shortened from their ends only if they alone do not fit.
    The middle is measured newest first, in chunks of about CHUNK_CHARS (the chunk that
    crosses the budget turn by turn), never past budget * MAX_CHARS_PER_TOKEN characters:
    each kept turn is tokenized about once, one count of the chosen prompt checks the sum
    (chat templates are not quite additive), and the oldest kept turns go if it is over.
    """
    head = [system] if system else []
    kept = list(turns)
    if len(turns) > 2:
        base = count_tokens(head) if head else 0

        def cost(group: list[ChatMessage]) -> int:
            return count_tokens([*head, *group]) - base

        room = budget - base - cost([turns[0]]) - cost([turns[-1]])
        middle = turns[1:-1]
        start = 1 + _oldest_that_fits(middle, room, cost, budget * MAX_CHARS_PER_TOKEN)
        kept = [turns[0], *turns[start:-1], turns[-1]]
    total = count_tokens(head + kept)
    for recheck in range(MAX_RECHECKS + 1):
        if total <= budget or len(kept) <= 2:
            break
        if recheck == MAX_RECHECKS:
            kept = [turns[0], turns[-1]]
        else:  # drop the oldest kept middle turns, about as many characters as the excess
            chars_per_token = _chars(kept) / max(1, total)
            start += _turns_worth(kept[1:-1], (total - budget) * chars_per_token)
            kept = [turns[0], *turns[start:-1], turns[-1]]
        total = count_tokens(head + kept)
    omitted = len(turns) - len(kept)
    for index in (0, len(kept) - 1):  # the opening message first, the question last
        if total <= budget:
            break
        kept = _shorten_turn(head, kept, index, count_tokens, budget)
        total = count_tokens(head + kept)
    return head + kept, omitted


def _oldest_that_fits(
    middle: list[ChatMessage],
    room: int,
    cost: Callable[[list[ChatMessage]], int],
    max_chars: int,
) -> int:
    """Index of the oldest turn in `middle` kept: the newest turns that fit in `room` tokens
    and `max_chars` characters, measured a chunk at a time."""
    start, used, chars = len(middle), 0, 0
    while start > 0:
        chunk = _chunk_start(middle, start)
        size = _chars(middle[chunk:start])
        if chars + size <= max_chars:
            tokens = cost(middle[chunk:start])
            if used + tokens <= room:
                start, used, chars = chunk, used + tokens, chars + size
                continue
        if start - chunk == 1:  # a single turn, measured already
            return start
        for index in range(start - 1, chunk - 1, -1):  # the crossing chunk, turn by turn
            size = len(middle[index]["content"])
            tokens = cost([middle[index]]) if chars + size <= max_chars else room + 1
            if used + tokens > room:
                return start
            start, used, chars = index, used + tokens, chars + size
    return start


def _chunk_start(middle: list[ChatMessage], end: int) -> int:
    """The start of the chunk of turns ending before `end`: about CHUNK_CHARS of them."""
    start, size = end - 1, len(middle[end - 1]["content"])
    while start > 0 and size + len(middle[start - 1]["content"]) <= CHUNK_CHARS:
        start -= 1
        size += len(middle[start]["content"])
    return start


def _turns_worth(turns: list[ChatMessage], chars: float) -> int:
    """How many of the oldest `turns` it takes to reach `chars` characters (at least one)."""
    count, seen = 0, 0
    while count < len(turns) and (count == 0 or seen < chars):
        seen += len(turns[count]["content"])
        count += 1
    return count


def _chars(turns: list[ChatMessage]) -> int:
    return sum(len(turn["content"]) for turn in turns)


def _shorten_turn(
    head: list[ChatMessage],
    turns: list[ChatMessage],
    index: int,
    count_tokens: Callable[[list[ChatMessage]], int],
    budget: int,
) -> list[ChatMessage]:
    """`turns` with turns[index] cut to the longest prefix that fits (possibly empty)."""
    content = turns[index]["content"]

    def with_length(n: int) -> list[ChatMessage]:
        shortened = content[:n] + (ELLIPSIS if n < len(content) else "")
        return [
            *turns[:index],
            {"role": turns[index]["role"], "content": shortened},
            *turns[index + 1 :],
        ]

    low, high = 0, len(content)
    while low < high:
        mid = (low + high + 1) // 2
        if count_tokens(head + with_length(mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return with_length(low)


def asked_text(text: str) -> str:
    """The question out of our "*Name* asked: question" post."""
    head, sep, rest = text.partition(" asked:")
    return rest.strip() if sep and len(head) < 100 else text


def _file_label(file: Mapping[str, Any]) -> str:
    name = file.get("name") or file.get("title") or "file"
    kind = file.get("pretty_type") or file.get("filetype") or file.get("mimetype")
    return f"{name} ({kind})" if kind else str(name)


def _attachment_label(attachment: Mapping[str, Any]) -> str:
    label = attachment.get("title") or attachment.get("fallback") or attachment.get("text")
    return str(label or "untitled")[:200]


def ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    try:
        return int(seconds), int(micros or 0)
    except ValueError:
        return 0, 0
