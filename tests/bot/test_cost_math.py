"""Usage arithmetic without Slack: the price table, summaries (cost per 1,000 answers, hosted-API
equivalents, percentiles, utilisation), hourly buckets, budgets, and `deskhand usage`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.usage.budgets import Budgets, over_budget
from bot.usage.cli import main as usage_main
from bot.usage.log import EngineSession, UsageLog, UsageRecord
from bot.usage.prices import ApiPrice, api_equivalent_per_1k, api_prices
from bot.usage.summary import Pricing, hourly, parse_since, percentile, sparkline, summarize
from bot.usage.views import home_view, money
from deskhand.settings import Settings
from store import Store, database_url

NOW = 1_800_000_000.0  # a fixed instant: 2027-01-15 08:00 UTC
PRICING = Pricing(per_hour=3.60, currency="USD")  # a cent per 10 engine-seconds


def record(at: float, user: str = "U1", channel: str = "C1", **values: object) -> UsageRecord:
    fields: dict[str, object] = {
        "surface": "mention",
        "route": "chat",
        "model": "tiny",
        "outcome": "stop",
        "prompt_tokens": 100,
        "output_tokens": 20,
        "answer_s": 1.0,
        "engine_s": 0.5,
    }
    fields.update(values)
    return UsageRecord(at=at, user_id=user, channel_id=channel, **fields)  # type: ignore[arg-type]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[UsageLog]:
    store = Store.open(database_url(None, tmp_path))
    yield UsageLog(store)
    store.close()


def test_the_price_table_is_dated_sourced_and_sane() -> None:
    prices = api_prices()
    assert len(prices) >= 5
    assert len({p.name for p in prices}) == len(prices)
    for price in prices:
        assert price.source.startswith("https://"), price
        assert date(2024, 1, 1) <= price.listed <= date.today(), price
        assert 0 < price.input_per_1m <= price.output_per_1m < 100, price


def test_api_equivalent_is_list_price_times_tokens() -> None:
    api = ApiPrice("X", input_per_1m=1.0, output_per_1m=4.0, listed=date(2025, 1, 1), source="")
    # 10 answers, 1M prompt and 0.5M output tokens in all: $1 + $2 = $3, $300 per 1,000.
    assert api_equivalent_per_1k(1_000_000, 500_000, 10, (api,)) == {"X": 300.0}
    assert api_equivalent_per_1k(5, 5, 0, (api,)) == {}


def test_summary_costs_each_answer_by_its_share_of_engine_time() -> None:
    rows = [record(NOW - 60 * i, answer_s=float(i + 1)) for i in range(10)]
    rows.append(record(NOW - 2 * 86_400))  # outside the 24 h window
    # The engine ran for the whole last hour.
    sessions = [EngineSession("s", "tiny", NOW - 3600, NOW, busy_s=5.0, uptime_s=3600)]
    api = ApiPrice("X", 1.0, 2.0, date(2025, 1, 1), "https://example")
    summary = summarize(
        rows,
        sessions,
        label="24 h",
        since=NOW - 86_400,
        until=NOW + 1,
        pricing=PRICING,
        prices=(api,),
    )
    assert summary.answers == 10
    assert (summary.prompt_tokens, summary.output_tokens) == (1000, 200)
    assert summary.engine_busy_s == pytest.approx(5.0)
    assert summary.engine_up_s == pytest.approx(3600)
    assert summary.utilisation == pytest.approx(5.0 / 3600)
    # 0.5 engine-s per answer at $3.60/h = $0.0005 per answer = $0.50 per 1,000.
    assert summary.cost_per_1k_answers == pytest.approx(0.5)
    assert summary.cost_per_1k_all_in == pytest.approx(3600 * 0.001 / 10 * 1000)
    assert summary.api_equivalent_per_1k == {"X": pytest.approx((1000 + 400) / 1e6 / 10 * 1000)}
    assert (summary.latency_p50_s, summary.latency_p95_s) == (5.0, 10.0)
    empty = summarize([], [], label="x", since=0, until=1, pricing=PRICING)
    assert empty.answers == 0 and empty.cost_per_1k_answers is None and empty.utilisation is None


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (
        50.0,
        95.0,
        100.0,
    )
    assert percentile([], 50) is None and percentile([3.0], 95) == 3.0


def test_hourly_buckets_and_sparklines() -> None:
    hour = 3600.0
    start = (NOW // hour) * hour
    rows = [record(start + 10), record(start + 20, engine_s=1.5), record(start - hour + 5)]
    series = hourly(rows, until=NOW, hours=3, pricing=PRICING)
    assert series.answers == [0, 1, 2]
    assert series.cost_per_answer == pytest.approx([0.0, 0.0005, 0.001])
    assert len(series.answers_line()) == 3 and series.answers_line()[-1] == "█"
    assert sparkline([0, 0]) == "▁▁" and sparkline([]) == ""


def test_since_parsing() -> None:
    assert parse_since("7d") == 7 * 86_400 and parse_since("24h") == 86_400
    assert parse_since("2w") == 14 * 86_400 and parse_since("90m") == 5400
    with pytest.raises(ValueError, match="like 24h, 7d"):
        parse_since("last week")


def test_money_formats_small_amounts_readably() -> None:
    assert money(0.000123, "USD") == "$0.00012"
    assert money(0.5, "USD") == "$0.500"
    assert money(1234.5, "EUR") == "1,234.50 EUR"
    assert money(None, "USD") == "–"


def test_budgets_count_today_per_user_and_channel(log: UsageLog) -> None:
    day = (NOW // 86_400) * 86_400
    log.record(record(day - 10, user="U1"))  # yesterday: does not count
    for _ in range(2):
        log.record(record(day + 60, user="U1", channel="C1"))
    log.record(record(day + 60, user="U2", channel="C2", prompt_tokens=900))
    budgets = Budgets(log, user_answers=2, admins=frozenset({"UADMIN"}))
    refusal = budgets.refusal("U1", "C9", now=NOW)
    assert refusal is not None and "2 answers for today" in refusal and "00:00 UTC" in refusal
    assert budgets.refusal("U2", "C2", now=NOW) is None
    assert budgets.refusal("UADMIN", "C1", now=NOW) is None
    tokens = Budgets(log, user_tokens=500)
    assert tokens.refusal("U2", "C2", now=NOW) is not None  # 900 + 20 tokens used
    channel = Budgets(log, channel_answers=2)
    assert "this channel" in (channel.refusal("U3", "C1", now=NOW) or "")
    assert channel.refusal("U3", "D1", now=NOW) is None  # a DM has no channel budget
    assert Budgets(log).refusal("U1", "C1", now=NOW) is None  # no limits set


def test_the_refusal_says_when_the_budget_resets() -> None:
    day = (NOW // 86_400) * 86_400
    text = over_budget("you've had your 5 answers for today", day + 86_400 - 3 * 3600 - 30)
    assert text.startswith("Sorry, you've had your 5 answers for today.")
    assert "resets at 00:00 UTC, in 3 h 1 min" in text
    assert "in 1 min" in over_budget("x", day + 86_400 - 5)


def test_home_view_is_valid_block_kit() -> None:
    from slackemu.blocks import MAX_VIEW_BLOCKS, block_problem

    rows = [record(NOW - 60 * i) for i in range(5)]
    windows = [
        summarize(
            rows,
            [],
            label=label,
            since=NOW - s,
            until=NOW + 1,
            pricing=PRICING,
            prices=api_prices(),
        )
        for label, s in (("24 h", 86_400), ("7 d", 604_800))
    ]
    view = home_view(
        windows,
        hourly(rows, until=NOW, hours=24, pricing=PRICING),
        pricing=PRICING,
        prices=api_prices(),
        model="tiny",
        now=NOW,
    )
    assert view["type"] == "home"
    assert block_problem(view["blocks"], max_blocks=MAX_VIEW_BLOCKS) is None
    text = json.dumps(view)
    assert "Last 24 h" in text and "*Answers*\\n5" in text and "GPT-4o mini" in text


def test_usage_cli_json_csv_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, cost_per_hour=3.6)  # type: ignore[call-arg]
    store = Store.open(settings.store_url)
    usage = UsageLog(store)
    usage.record(record(NOW - 3600, surface="dm"))
    usage.record(record(NOW - 60, user="U2"))
    usage.record(record(NOW - 30 * 86_400))  # outside --since 7d
    store.close()
    assert usage_main(["--since", "7d", "--json"], settings.bot_config(), now=NOW) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["answers"] == 2 and shown["users"] == 2
    assert shown["by_surface"] == {"dm": 1, "mention": 1}
    assert shown["cost_per_1k_answers"] == pytest.approx(0.5)
    assert set(shown["api_equivalent_per_1k"]) == {p.name for p in api_prices()}
    assert usage_main(["--since", "7d", "--csv"], settings.bot_config(), now=NOW) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["user_id"] for r in rows] == ["U1", "U2"] and rows[0]["prompt_tokens"] == "100"
    assert usage_main(["--since", "7d", "--user", "U2"], settings.bot_config(), now=NOW) == 0
    assert "1 answer to 1 person" in capsys.readouterr().out
    assert usage_main(["--since", "soon"], settings.bot_config(), now=NOW) == 2
    assert "expected a number and a unit" in capsys.readouterr().err


def test_the_usage_tables_on_both_backends(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        log = UsageLog(store)
        log.record(record(NOW - 10, ttft_s=0.25))
        log.record(record(NOW - 5, user="U2", ttft_s=None, output_tokens=7))
        session = EngineSession("p1", "tiny", NOW - 100, NOW - 50, busy_s=1.0, uptime_s=50)
        log.engine_seen(session)
        log.engine_seen(EngineSession("p1", "tiny", NOW - 100, NOW, busy_s=2.0, uptime_s=100))
        rows = log.answers(NOW - 60)
        assert [(r.user_id, r.ttft_s, r.output_tokens) for r in rows] == [
            ("U1", 0.25, 20),
            ("U2", None, 7),
        ]
        assert log.answers(NOW - 60, user_id="U2") == rows[1:]
        assert log.totals_since(NOW - 60, user_id="U1") == (1, 120)
        assert log.totals_since(NOW - 60, channel_id="C1") == (2, 227)
        [seen] = log.sessions(NOW - 10)
        assert (seen.busy_s, seen.seen_at) == (2.0, NOW)  # refreshed, not duplicated
    finally:
        store.close()


def test_an_engine_without_per_answer_time_is_said_so() -> None:
    from bot.usage.views import window_fields

    rows = [record(NOW - 60, engine_s=0.0)]
    sessions = [EngineSession("s", "m", NOW - 3600, NOW, busy_s=0.0, uptime_s=3600)]
    summary = summarize(
        rows, sessions, label="24 h", since=NOW - 86_400, until=NOW + 1, pricing=PRICING
    )
    texts = [f["text"] for f in window_fields(summary)]
    assert "*Utilisation*\n– (not reported by this engine)" in texts
    assert "*Cost per 1,000 answers*\n$3,600.00 all-in (no per-answer engine time)" in texts
