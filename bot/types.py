"""The bot's value types: who the bot is, the question it was asked, and the reply it gives.

Plain frozen dataclasses shared by routing, the pipeline, the answerers and the reply writers;
no Slack I/O and no engine calls here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

QuestionKind = Literal["mention", "followup", "dm", "command"]


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """What auth.test says about us (learnt once at start-up)."""

    user_id: str
    bot_id: str
    team_id: str


@dataclass(frozen=True, slots=True)
class Question:
    """One user message the bot has decided to answer."""

    kind: QuestionKind
    channel_id: str
    user_id: str
    team_id: str
    ts: str  # the question's own ts (the dedupe key with channel_id)
    text: str  # as typed, Slack-encoded (mentions, &amp;...)
    thread_ts: str | None = None  # the thread it is in, if any
    is_dm: bool = False
    event_id: str | None = None

    @property
    def reply_thread_ts(self) -> str | None:
        """Where the answer goes: the thread, else a new thread on the question; a top-level
        DM is answered at the top level, like a chat."""
        if self.thread_ts:
            return self.thread_ts
        return None if self.is_dm else self.ts


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class FinalReply:
    """What the user finally sees: Markdown body plus the footer's facts."""

    text: str
    sources: list[Source] = field(default_factory=list)
    abstained: bool = False
    handoff: bool = False  # offer "Ask a human"
    answer_ref: str = ""  # the answerer's id for feedback ("" when it keeps none)
    notes: list[str] = field(default_factory=list)  # short footer lines (stopped, trimmed...)
    cut_short: bool = False  # the token limit ended it: a "continue" follow-up carries it on
