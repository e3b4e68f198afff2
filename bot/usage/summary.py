"""Usage summaries: from the recorded answers to the numbers people look at — answers, tokens,
latency percentiles, utilisation, cost per 1,000 answers at COST_PER_HOUR, and what the same
tokens would cost on hosted APIs — for a time window, a person, or hour by hour (the chart).

Cost per answer is its share of engine time (batching lowers it) times the hourly price; the
"all-in" figure spreads the engine's whole up time, idle included, over the answers.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sparklines import sparklines

from bot.usage.log import EngineSession, UsageLog, UsageRecord, UsageTotals
from bot.usage.prices import ApiPrice, api_equivalent_per_1k, api_prices

HOUR_S = 3600.0
DAY_S = 86_400.0
WINDOWS = (("24 h", DAY_S), ("7 d", 7 * DAY_S), ("30 d", 30 * DAY_S))
SINCE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
SINCE_UNITS = {"m": 60.0, "h": HOUR_S, "d": DAY_S, "w": 7 * DAY_S}


@dataclass(frozen=True, slots=True)
class Pricing:
    """What the machine costs: COST_PER_HOUR in COST_CURRENCY."""

    per_hour: float
    currency: str

    def of(self, seconds: float) -> float:
        return seconds * self.per_hour / HOUR_S


@dataclass(frozen=True, slots=True)
class UsageSummary:
    label: str
    since: float
    until: float
    answers: int
    prompt_tokens: int
    output_tokens: int
    latency_p50_s: float | None  # the bot's wall time per answer
    latency_p95_s: float | None
    engine_busy_s: float  # the answers' shares of engine time, summed
    engine_up_s: float  # how long an engine was running in the window
    utilisation: float | None  # busy / up
    cost_per_1k_answers: float | None  # at COST_PER_HOUR, engine time only
    cost_per_1k_all_in: float | None  # idle time included
    currency: str
    api_equivalent_per_1k: dict[str, float] = field(default_factory=dict)  # USD

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return {key: _rounded(value) for key, value in asdict(self).items()}


def summarize(
    records: list[UsageRecord],
    sessions: list[EngineSession],
    *,
    label: str,
    since: float,
    until: float,
    pricing: Pricing,
    prices: tuple[ApiPrice, ...] = (),
) -> UsageSummary:
    """The numbers for the answers in [since, until) (records outside are ignored)."""
    inside = [r for r in records if since <= r.at < until]
    latencies = sorted(r.answer_s for r in inside)
    totals = UsageTotals(
        answers=len(inside),
        prompt_tokens=sum(r.prompt_tokens for r in inside),
        output_tokens=sum(r.output_tokens for r in inside),
        engine_s=sum(r.engine_s for r in inside),
    )
    latency = (percentile(latencies, 50), percentile(latencies, 95))
    return _summary(totals, latency, sessions, label, since, until, pricing, prices)


def summarize_stored(
    log: UsageLog,
    sessions: list[EngineSession],
    *,
    label: str,
    since: float,
    until: float,
    pricing: Pricing,
    prices: tuple[ApiPrice, ...] = (),
    user_id: str | None = None,
) -> UsageSummary:
    """`summarize` for the answers in [since, until), with the sums and the two percentiles
    computed in the database (no answer rows are read into Python)."""
    totals = log.totals(since, until, user_id=user_id)

    def at(pct: float) -> float | None:
        if not totals.answers:
            return None
        rank = max(1, math.ceil(pct / 100 * totals.answers))
        return log.answer_s_at_rank(since, until, rank, user_id=user_id)

    latency = (at(50), at(95))
    return _summary(totals, latency, sessions, label, since, until, pricing, prices)


def _summary(
    totals: UsageTotals,
    latency: tuple[float | None, float | None],
    sessions: list[EngineSession],
    label: str,
    since: float,
    until: float,
    pricing: Pricing,
    prices: tuple[ApiPrice, ...],
) -> UsageSummary:
    answers, prompt, output = totals.answers, totals.prompt_tokens, totals.output_tokens
    busy = totals.engine_s
    up = sum(_overlap(s.started_at, s.seen_at, since, until) for s in sessions)
    return UsageSummary(
        label=label,
        since=since,
        until=until,
        answers=answers,
        prompt_tokens=prompt,
        output_tokens=output,
        latency_p50_s=latency[0],
        latency_p95_s=latency[1],
        engine_busy_s=busy,
        engine_up_s=up,
        utilisation=min(1.0, busy / up) if up > 0 else None,
        cost_per_1k_answers=pricing.of(busy) / answers * 1000 if answers else None,
        cost_per_1k_all_in=pricing.of(max(up, busy)) / answers * 1000 if answers else None,
        currency=pricing.currency,
        api_equivalent_per_1k=api_equivalent_per_1k(prompt, output, answers, prices),
    )


def window_summaries(
    log: UsageLog, pricing: Pricing, *, now: float | None = None, user_id: str | None = None
) -> list[UsageSummary]:
    """The last 24 h, 7 d and 30 d, summed in the database."""
    now = time.time() if now is None else now
    longest = max(seconds for _, seconds in WINDOWS)
    sessions = log.sessions(now - longest)
    prices = api_prices()
    return [
        summarize_stored(
            log,
            sessions,
            label=label,
            since=now - seconds,
            until=now,
            pricing=pricing,
            prices=prices,
            user_id=user_id,
        )
        for label, seconds in WINDOWS
    ]


@dataclass(frozen=True, slots=True)
class HourlySeries:
    """Hour by hour, oldest first: answers, and cost per answer (0 where none)."""

    starts: list[float]
    answers: list[int]
    cost_per_answer: list[float]

    def answers_line(self) -> str:
        return sparkline(self.answers)

    def cost_line(self) -> str:
        return sparkline(self.cost_per_answer)


def hourly(
    records: list[UsageRecord], *, until: float, hours: int, pricing: Pricing
) -> HourlySeries:
    """Bucket answers into the `hours` whole hours ending with the one containing `until`."""
    last_start = math.floor(until / HOUR_S) * HOUR_S
    starts = [last_start - HOUR_S * (hours - 1 - i) for i in range(hours)]
    counts = [0] * hours
    busy = [0.0] * hours
    for record in records:
        index = int((record.at - starts[0]) // HOUR_S)
        if 0 <= index < hours:
            counts[index] += 1
            busy[index] += record.engine_s
    costs = [pricing.of(b) / n if n else 0.0 for b, n in zip(busy, counts, strict=True)]
    return HourlySeries(starts, counts, costs)


def hourly_stored(log: UsageLog, *, until: float, hours: int, pricing: Pricing) -> HourlySeries:
    """`hourly`, bucketed in the database."""
    last_start = math.floor(until / HOUR_S) * HOUR_S
    starts = [last_start - HOUR_S * (hours - 1 - i) for i in range(hours)]
    buckets = log.hourly_totals(starts[0], hours)
    counts = [n for n, _ in buckets]
    costs = [pricing.of(busy) / n if n else 0.0 for n, busy in buckets]
    return HourlySeries(starts, counts, costs)


def sparkline(values: list[int] | list[float]) -> str:
    """A one-line text chart (▁▂▃▄▅▆▇█); all-zero series show as a flat baseline."""
    if not values:
        return ""
    if not any(values):
        return "▁" * len(values)
    return str(sparklines(list(values), minimum=0)[0])


def parse_since(text: str) -> float:
    """'7d', '24h', '30m', '2w' -> seconds; ValueError naming the expected form otherwise."""
    match = SINCE_RE.match(text)
    if not match:
        raise ValueError(f"--since {text!r}: expected a number and a unit, like 24h, 7d or 2w")
    return float(match.group(1)) * SINCE_UNITS[match.group(2)]


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _overlap(start: float, end: float, since: float, until: float) -> float:
    return max(0.0, min(end, until) - max(start, since))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value
