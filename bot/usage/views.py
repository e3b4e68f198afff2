"""What people see of usage: the App Home view (Block Kit), the `/ask usage` reply, and the
shared number formatting. Pure functions over summaries; no Slack calls here.

The chart is a text sparkline in a code block, not a PNG: Block Kit image blocks need a URL
Slack's servers can fetch, and Deskhand runs behind firewalls over Socket Mode with no public
address. Text renders everywhere (desktop, mobile, the local emulator) and costs no request.
"""

from __future__ import annotations

import time
from typing import Any

from bot.usage.budgets import plural
from bot.usage.prices import ApiPrice
from bot.usage.summary import HourlySeries, Pricing, UsageSummary

HOME_CALLBACK_ID = "deskhand_usage_home"


def money(value: float | None, currency: str) -> str:
    """$0.0123 / 0.0123 EUR; small amounts keep three significant digits."""
    if value is None:
        return "–"
    if value == 0:
        digits = 2
    elif value < 0.01:
        digits = 5
    elif value < 1:
        digits = 3
    else:
        digits = 2
    amount = f"{value:,.{digits}f}"
    return f"${amount}" if currency.upper() == "USD" else f"{amount} {currency}"


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def price_line(pricing: Pricing) -> str:
    if pricing.per_hour <= 0:
        return "COST_PER_HOUR is not set, so costs show as 0"
    return f"{money(pricing.per_hour, pricing.currency)} per hour"


def window_fields(summary: UsageSummary) -> list[dict[str, Any]]:
    cur = summary.currency
    latency = f"p50 {seconds(summary.latency_p50_s)} · p95 {seconds(summary.latency_p95_s)}"
    cost = (
        f"{money(summary.cost_per_1k_answers, cur)} engine time · "
        f"{money(summary.cost_per_1k_all_in, cur)} all-in"
    )
    utilisation = percent(summary.utilisation)
    if summary.output_tokens and not summary.engine_busy_s:  # shares not reported
        cost = f"{money(summary.cost_per_1k_all_in, cur)} all-in (no per-answer engine time)"
        utilisation = "– (not reported by this engine)"
    return [
        _field("Answers", f"{summary.answers:,}"),
        _field("Tokens", f"{summary.prompt_tokens:,} in · {summary.output_tokens:,} out"),
        _field("Latency", latency),
        _field("Utilisation", utilisation),
        _field("Cost per 1,000 answers", cost),
    ]


def home_view(
    windows: list[UsageSummary],
    series: HourlySeries,
    *,
    pricing: Pricing,
    prices: tuple[ApiPrice, ...],
    model: str,
    you: UsageSummary | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The Home tab: 24 h / 7 d / 30 d, hosted-API equivalents, the hourly chart."""
    now = time.time() if now is None else now
    updated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "What Deskhand's answers cost"}},
        _context(f"Model *{model}* · {price_line(pricing)} · updated {updated}"),
    ]
    for summary in windows:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Last {summary.label}*"},
                "fields": window_fields(summary),
            }
        )
    longest = windows[-1] if windows else None
    if longest is not None and longest.api_equivalent_per_1k:
        blocks += [
            {"type": "divider"},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*The same tokens on hosted APIs* (last {longest.label}, per 1,000 "
                    "answers, USD list prices)",
                },
                "fields": [
                    _field(name, money(value, "USD"))
                    for name, value in list(longest.api_equivalent_per_1k.items())[:10]
                ],
            },
        ]
    hours = len(series.answers)
    chart = (
        f"answers/hour   {series.answers_line()}  (max {max(series.answers, default=0)})\n"
        f"cost/answer    {series.cost_line()}  "
        f"(max {money(max(series.cost_per_answer, default=0.0), pricing.currency)})"
    )
    blocks += [
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*The last {hours} hours*\n```{chart}```"},
        },
    ]
    if you is not None:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*You, last {you.label}:* {plural(you.answers, 'answer')}, "
                    f"{plural(you.tokens, 'token')}",
                },
            }
        )
    if prices:
        listed = sorted(p.listed for p in prices)
        blocks.append(
            _context(
                f"API prices from bot/usage/prices.toml (listed {listed[0]} to {listed[-1]}; "
                "sources in the file). Cost per answer = its share of engine time × the hourly "
                "price."
            )
        )
    return {"type": "home", "callback_id": HOME_CALLBACK_ID, "blocks": blocks}


def personal_text(
    today: UsageSummary,
    week: UsageSummary,
    team_week: UsageSummary,
    *,
    pricing: Pricing,
    limits: str,
) -> str:
    """The `/ask usage` reply: the asker's own usage and the team's cost per 1,000 answers."""
    cur = pricing.currency
    cheapest = min(team_week.api_equivalent_per_1k.items(), key=lambda kv: kv[1], default=None)
    lines = [
        f"*Your usage* today: {plural(today.answers, 'answer')}, "
        f"{plural(today.tokens, 'token')}"
        + (f" ({limits})" if limits else "")
        + f" · last 7 d: {plural(week.answers, 'answer')}, {plural(week.tokens, 'token')}",
        f"*Team, last 7 d:* {plural(team_week.answers, 'answer')} · cost per 1,000 answers "
        + (
            f"{money(team_week.cost_per_1k_all_in, cur)} ({price_line(pricing)}, idle time "
            "included: this engine reports no per-answer engine time)"
            if team_week.output_tokens and not team_week.engine_busy_s
            else f"{money(team_week.cost_per_1k_answers, cur)} ({price_line(pricing)}; "
            f"{money(team_week.cost_per_1k_all_in, cur)} with idle time)"
        ),
    ]
    if cheapest is not None:
        lines.append(
            f"The same tokens on {cheapest[0]}: {money(cheapest[1], 'USD')} per 1,000 answers "
            "(the cheapest API in the price table)."
        )
    return "\n".join(lines)


def _field(title: str, value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": f"*{title}*\n{value}"}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
