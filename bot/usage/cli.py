"""`deskhand usage [--since 7d] [--json | --csv] [--user U…]`: the usage table in the terminal —
the same numbers App Home shows, as text or one JSON object — or its rows exported as CSV."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.usage.budgets import plural
from bot.usage.log import RECORD_FIELDS, UsageLog, UsageRecord
from bot.usage.prices import api_prices
from bot.usage.report import pricing_of
from bot.usage.summary import UsageSummary, parse_since, summarize
from bot.usage.views import money, percent, seconds
from store import Store, StoreError

if TYPE_CHECKING:
    from bot.config import BotConfig


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deskhand usage", description=__doc__)
    parser.add_argument("--since", default="7d", help="how far back: 24h, 7d, 30d, 2w (7d)")
    parser.add_argument("--user", default=None, help="only this user ID")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--csv", action="store_true", help="export every answer's row as CSV")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str], settings: BotConfig, *, now: float | None = None) -> int:
    args = parse_args(argv)
    try:
        window_s = parse_since(args.since)
    except ValueError as err:
        print(f"deskhand usage: {err}", file=sys.stderr)
        return 2
    now = time.time() if now is None else now
    since = now - window_s
    try:
        store = Store.open(settings.store_url)
    except StoreError as err:
        print(f"deskhand usage: {err}", file=sys.stderr)
        return 2
    try:
        log = UsageLog(store)
        records = log.answers(since, user_id=args.user)
        sessions = log.sessions(since)
    finally:
        store.close()
    if args.csv:
        write_csv(records)
        return 0
    summary = summarize(
        records,
        sessions,
        label=args.since,
        since=since,
        until=now + 1,
        pricing=pricing_of(settings),
        prices=api_prices(),
    )
    if args.json:
        print(json.dumps(as_json(summary, records)))
    else:
        print(report(summary, records))
    return 0


def write_csv(records: list[UsageRecord]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["time_utc", *RECORD_FIELDS])
    for record in records:
        when = datetime.fromtimestamp(record.at, UTC).isoformat(timespec="seconds")
        writer.writerow([when, *(getattr(record, name) for name in RECORD_FIELDS)])


def as_json(summary: UsageSummary, records: list[UsageRecord]) -> dict[str, Any]:
    return {
        **summary.as_dict(),
        "by_surface": dict(Counter(r.surface for r in records)),
        "by_route": dict(Counter(r.route for r in records)),
        "users": len({r.user_id for r in records}),
    }


def people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


def report(summary: UsageSummary, records: list[UsageRecord]) -> str:
    cur = summary.currency
    lines = [
        f"Last {summary.label}: {plural(summary.answers, 'answer')} to "
        f"{people(len({r.user_id for r in records}))}",
        f"  tokens        {summary.prompt_tokens:,} in, {summary.output_tokens:,} out",
        f"  latency       p50 {seconds(summary.latency_p50_s)}, "
        f"p95 {seconds(summary.latency_p95_s)}",
        f"  engine        busy {summary.engine_busy_s:.1f} s of {summary.engine_up_s:.1f} s up "
        f"({percent(summary.utilisation)})"
        + (
            " — this engine reports no per-answer engine time"
            if summary.output_tokens and not summary.engine_busy_s
            else ""
        ),
        f"  per 1,000     {money(summary.cost_per_1k_answers, cur)} (engine time), "
        f"{money(summary.cost_per_1k_all_in, cur)} all-in",
    ]
    if summary.api_equivalent_per_1k:
        lines.append("  same tokens on hosted APIs, per 1,000 answers (USD list prices):")
        width = max(len(name) for name in summary.api_equivalent_per_1k)
        for name, value in summary.api_equivalent_per_1k.items():
            lines.append(f"    {name:<{width}}  {money(value, 'USD')}")
    return "\n".join(lines)
