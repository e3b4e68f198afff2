"""Usage read back for one person or the team: the App Home view and the `/ask usage` reply,
built from the usage table and the settings (price, currency, budgets)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from bot.usage.budgets import Budgets
from bot.usage.log import UsageLog
from bot.usage.prices import api_prices
from bot.usage.summary import (
    DAY_S,
    Pricing,
    UsageSummary,
    hourly_stored,
    summarize_stored,
    window_summaries,
)
from bot.usage.views import home_view, personal_text

if TYPE_CHECKING:
    from bot.config import BotConfig

CHART_HOURS = 24


def pricing_of(settings: BotConfig) -> Pricing:
    return Pricing(settings.cost_per_hour, settings.cost_currency)


def home_view_for(
    log: UsageLog, settings: BotConfig, *, model: str, user_id: str, now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    pricing = pricing_of(settings)
    windows = window_summaries(log, pricing, now=now)
    series = hourly_stored(log, until=now, hours=CHART_HOURS, pricing=pricing)
    you = summarize_stored(
        log, [], label="7 d", since=now - 7 * DAY_S, until=now + 1, pricing=pricing, user_id=user_id
    )
    return home_view(
        windows, series, pricing=pricing, prices=api_prices(), model=model, you=you, now=now
    )


def usage_reply_for(
    log: UsageLog, settings: BotConfig, budgets: Budgets, *, user_id: str, now: float | None = None
) -> str:
    now = time.time() if now is None else now
    pricing = pricing_of(settings)
    day_start = math.floor(now / DAY_S) * DAY_S
    week = now - 7 * DAY_S
    sessions = log.sessions(week)
    until = now + 1

    def mine(label: str, since: float) -> UsageSummary:
        return summarize_stored(
            log, [], label=label, since=since, until=until, pricing=pricing, user_id=user_id
        )

    return personal_text(
        mine("today", day_start),
        mine("7 d", week),
        summarize_stored(
            log,
            sessions,
            label="7 d",
            since=week,
            until=until,
            pricing=pricing,
            prices=api_prices(),
        ),
        pricing=pricing,
        limits=limits_text(budgets, user_id),
    )


def limits_text(budgets: Budgets, user_id: str) -> str:
    if user_id in budgets.admins:
        return "admin: no daily limit"
    parts = []
    if budgets.user_answers:
        parts.append(f"limit {budgets.user_answers:,} answers a day")
    if budgets.user_tokens:
        parts.append(f"limit {budgets.user_tokens:,} tokens a day")
    return ", ".join(parts)
