"""Budgets: answers and tokens per person and per channel per UTC day (USER_DAILY_LIMIT,
USER_DAILY_TOKENS, CHANNEL_DAILY_LIMIT, CHANNEL_DAILY_TOKENS). Checked at admission, before
a question reaches the engine: past a limit the asker gets one polite sentence that says when
the budget resets. ADMIN_USERS are exempt. Counts come from the usage table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.usage.log import UsageLog
from bot.usage.summary import DAY_S

if TYPE_CHECKING:
    from bot.config import BotConfig


@dataclass(frozen=True)
class Budgets:
    log: UsageLog
    user_answers: int = 0  # 0: no limit
    user_tokens: int = 0
    channel_answers: int = 0
    channel_tokens: int = 0
    admins: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: BotConfig, log: UsageLog) -> Budgets:
        return cls(
            log,
            user_answers=settings.user_daily_limit,
            user_tokens=settings.user_daily_tokens,
            channel_answers=settings.channel_daily_limit,
            channel_tokens=settings.channel_daily_tokens,
            admins=frozenset(settings.admin_users),
        )

    @property
    def enabled(self) -> bool:
        return any((self.user_answers, self.user_tokens, self.channel_answers, self.channel_tokens))

    def refusal(self, user_id: str, channel_id: str, *, now: float | None = None) -> str | None:
        """The sentence to reply with when this question is over a budget, else None."""
        if not self.enabled or user_id in self.admins:
            return None
        now = time.time() if now is None else now
        day_start = math.floor(now / DAY_S) * DAY_S
        if self.user_answers or self.user_tokens:
            answers, tokens = self.log.totals_since(day_start, user_id=user_id)
            if self.user_answers and answers >= self.user_answers:
                return over_budget(
                    f"you've had your {plural(self.user_answers, 'answer')} for today", now
                )
            if self.user_tokens and tokens >= self.user_tokens:
                return over_budget(f"you've used your {self.user_tokens:,} tokens for today", now)
        is_channel = not channel_id.startswith("D")  # a DM's budget is its person's
        if is_channel and (self.channel_answers or self.channel_tokens):
            answers, tokens = self.log.totals_since(day_start, channel_id=channel_id)
            if self.channel_answers and answers >= self.channel_answers:
                return over_budget(
                    f"this channel has had its {plural(self.channel_answers, 'answer')} for today",
                    now,
                )
            if self.channel_tokens and tokens >= self.channel_tokens:
                return over_budget(
                    f"this channel has used its {self.channel_tokens:,} tokens for today", now
                )
        return None


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def over_budget(what: str, now: float) -> str:
    """'Sorry, you've had your 20 answers for today. ... resets at 00:00 UTC, in 3 h 12 min.'"""
    left = DAY_S - (now % DAY_S)
    hours, minutes = int(left // 3600), math.ceil((left % 3600) / 60)
    if minutes == 60:
        hours, minutes = hours + 1, 0
    when = f"{hours} h {minutes} min" if hours else f"{max(minutes, 1)} min"
    return (
        f"Sorry, {what}. Your budget resets at 00:00 UTC, in {when}. "
        "If you need more, ask an admin to raise the limit."
    )
