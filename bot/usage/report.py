"""Usage read back for one person or the team: the App Home view and the `/ask usage` reply,
built from the usage table and the settings (price, currency, budgets)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from bot.usage.budgets import DAY_S, Budgets
from bot.usage.log import UsageLog
from bot.usage.prices import api_prices
from bot.usage.summary import Pricing, hourly, summarize, window_summaries
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
    series = hourly(
        log.answers(now - CHART_HOURS * 3600), until=now, hours=CHART_HOURS, pricing=pricing
    )
    mine = log.answers(now - 7 * DAY_S, user_id=user_id)
    you = summarize(mine, [], label="7 d", since=now - 7 * DAY_S, until=now + 1, pricing=pricing)
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
    mine = log.answers(week, user_id=user_id)
    team = log.answers(week)
    sessions = log.sessions(week)
    until = now + 1
    return personal_text(
        summarize(mine, [], label="today", since=day_start, until=until, pricing=pricing),
        summarize(mine, [], label="7 d", since=week, until=until, pricing=pricing),
        summarize(
            team,
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
