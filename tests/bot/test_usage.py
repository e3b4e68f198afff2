"""Metering, budgets, `/ask usage` and App Home with the real bot (Bolt over Socket Mode)
against the emulator, answered by the tiny model; contract violations checked at teardown."""

from __future__ import annotations

import json

import pytest

from bot.usage.log import UsageRecord
from engine import SamplingParams
from engine.testing import make_tiny_engine
from tests.bot.helpers import bot_replies, payload
from tests.helpers import wait_until


def recorded(bot, count: int) -> list[UsageRecord]:
    """Wait until the bot has recorded `count` answers; returns them, oldest first."""
    log = bot.services.meter.log
    wait_until(lambda: len(log.answers(0)) >= count, timeout=60, interval=0.05)
    return log.answers(0)


def test_metering_sums_equal_the_engines_token_counts(workspace, run_bot, tiny_engine):
    before = tiny_engine.stats()
    bot = run_bot(workspace, tiny_engine)
    for i in range(3):
        workspace.mention("ada", "support", f"question {i}: how do I reset my password?")
    workspace.dm("grace", "hello there, what can you do?")
    assert workspace.slash("linus", "support", "/ask", "what is a warranty?")["acked"]
    rows = recorded(bot, 5)
    wait_until(lambda: bot.services.pool.active == 0, timeout=60, interval=0.05)
    after = tiny_engine.stats()
    assert len(rows) == 5
    assert sum(r.prompt_tokens for r in rows) == after.prompt_tokens - before.prompt_tokens
    assert sum(r.output_tokens for r in rows) == after.tokens_generated - before.tokens_generated
    assert sorted(r.surface for r in rows) == ["dm", "mention", "mention", "mention", "slash"]
    users = {workspace.user_id(n): n for n in ("ada", "grace", "linus")}
    assert sorted(users[r.user_id] for r in rows) == ["ada", "ada", "ada", "grace", "linus"]
    assert {r.route for r in rows} == {"assistant"} and {r.model for r in rows} == {"tiny-llama"}
    assert all(r.output_tokens > 0 and r.answer_s > 0 and r.queue_wait_s >= 0 for r in rows)
    assert all(r.outcome in ("stop", "length") for r in rows)
    dm = next(r for r in rows if r.surface == "dm")
    assert dm.channel_id == workspace.dm_channel("grace")


def test_batch_shares_of_engine_time_sum_to_busy_time():
    engine = make_tiny_engine(max_running=4, max_queue=16)
    try:
        busy_before = engine.stats().busy_s
        handles = [
            engine.submit(
                [{"role": "user", "content": f"question number {i} " * (1 + i % 3)}],
                SamplingParams(max_new_tokens=8 + 4 * (i % 4), ignore_eos=True),
            )
            for i in range(8)
        ]
        results = [h.result() for h in handles]
        busy = engine.stats().busy_s - busy_before
    finally:
        engine.shutdown()
    shares = [c.engine_s for c in results]
    assert all(share > 0 for share in shares), shares
    assert sum(shares) == pytest.approx(busy, rel=0.05)
    # Batched: each request's share is less than the wall time it spent in the engine.
    assert sum(shares) < sum(c.total_s for c in results)


def test_past_the_daily_limit_the_reply_says_when_it_resets(workspace, run_bot, tiny_engine):
    grace = workspace.user_id("grace")
    bot = run_bot(workspace, tiny_engine, user_daily_limit=1, admin_users=grace)
    first = workspace.mention("ada", "support", "first question")
    workspace.wait_for_reply("support", first, timeout=30)
    recorded(bot, 1)
    second = workspace.mention("ada", "support", "second question")
    notice = workspace.wait_for_reply("support", second, timeout=30)
    assert payload(notice)["kind"] == "budget"
    assert notice["text"].startswith("Sorry, you've had your 1 answer for today.")
    assert "resets at 00:00 UTC, in " in notice["text"]
    assert len(bot_replies(workspace, "support", second)) == 1  # one reply, no answer after it
    seen = workspace.slash("ada", "support", "/ask", "and a third?")
    assert seen["acked"] and "resets at 00:00 UTC" in seen["payload"]["text"]
    for i in range(2):  # the admin is exempt
        ts = workspace.mention("grace", "support", f"admin question {i}")
        reply = workspace.wait_for_reply("support", ts, timeout=30)
        assert payload(reply).get("kind") != "budget"
    assert len(recorded(bot, 3)) == 3


def test_ask_usage_shows_the_asker_their_own_usage(workspace, run_bot, tiny_engine):
    bot = run_bot(workspace, tiny_engine, cost_per_hour=2.0, user_daily_limit=50)
    ts = workspace.mention("ada", "support", "how do refunds work?")
    workspace.wait_for_reply("support", ts, timeout=30)
    rows = recorded(bot, 1)
    seen = workspace.slash("ada", "support", "/ask", "usage")
    text = seen["payload"]["text"]
    assert seen["acked"] and seen["payload"].get("response_type", "ephemeral") == "ephemeral"
    assert f"*Your usage* today: 1 answer, {rows[0].tokens:,} tokens" in text
    assert "(limit 50 answers a day)" in text
    assert "*Team, last 7 d:* 1 answer · cost per 1,000 answers $" in text
    assert "$2.00 per hour" in text
    other = workspace.slash("grace", "support", "/ask", "usage")["payload"]["text"]
    assert "*Your usage* today: 0 answers, 0 tokens" in other
    # Private, and not a question: nothing posted in the channel, no answer recorded.
    assert not any("usage" in m.get("text", "") for m in workspace.messages("support"))
    assert len(bot.services.meter.log.answers(0)) == 1


def test_app_home_shows_the_numbers_through_bolt(workspace, run_bot, tiny_engine):
    bot = run_bot(workspace, tiny_engine, cost_per_hour=2.5, cost_currency="EUR")
    for i in range(2):
        ts = workspace.mention("ada", "support", f"question {i}")
        workspace.wait_for_reply("support", ts, timeout=30)
    rows = recorded(bot, 2)
    assert workspace.open_home("ada") is None
    view = workspace.wait_for(lambda: workspace.home_view("ada"), timeout=20)
    text = json.dumps(view, ensure_ascii=False)
    assert view["type"] == "home" and "What Deskhand's answers cost" in text
    assert "*Last 24 h*" in text and "*Answers*\\n2" in text
    prompt = sum(r.prompt_tokens for r in rows)
    output = sum(r.output_tokens for r in rows)
    assert f"{prompt:,} in · {output:,} out" in text
    assert "2.50 EUR per hour" in text and "GPT-4o mini" in text and "answers/hour" in text
    # Another answer; opening Home again shows it.
    ts = workspace.mention("grace", "support", "one more")
    workspace.wait_for_reply("support", ts, timeout=30)
    recorded(bot, 3)
    workspace.open_home("ada")
    workspace.wait_for(
        lambda: "*Answers*\\n3" in json.dumps(workspace.home_view("ada"), ensure_ascii=False), 20
    )
    calls = workspace.calls("views.publish")
    assert len(calls) == 2 and all(c.ok for c in calls)
