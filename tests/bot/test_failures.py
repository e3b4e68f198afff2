"""When things go wrong the user hears a short sentence, never silence or a stack trace:
rate limits retried, busy and queued states, engine errors, timeouts, limits, allowlists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import errors
from engine import Engine
from tests.bot.helpers import answer_text, bot_replies, payload, shown_text
from tests.bot.scripted import make_scripted_engine, new_script


@pytest.fixture
def one_slot_engine() -> Iterator[Engine]:
    """One running request and room for `max_queue` more (here: one)."""
    engine = make_scripted_engine(max_running=1, max_queue=1)
    yield engine
    engine.shutdown()


def notice_of(sb, channel: str, thread_ts: str) -> dict:
    return sb.wait_for(
        lambda: next(
            (
                m
                for m in bot_replies(sb, channel, thread_ts)
                if (m.get("metadata") or {}).get("event_type") == "deskhand_notice"
            ),
            None,
        ),
        timeout=20,
    )


def test_a_429_on_post_message_is_retried_and_delivered(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Delivered despite the rate limit."
    workspace.inject("chat.postMessage", status=429, retry_after=1)
    run_bot(workspace, scripted_engine, stream_mode="update")
    ts = workspace.mention("ada", "support", "hello?")
    workspace.wait_for_reply("support", ts, timeout=30)
    posts = workspace.calls("chat.postMessage")
    assert [c.status for c in posts] == [429, 200]
    assert answer_text(workspace, "support", ts) == "Delivered despite the rate limit."


def test_a_full_engine_says_busy_and_a_queued_question_shows_its_place(
    workspace, run_bot, one_slot_engine
):
    script = new_script(one_slot_engine, answer=lambda turns: "word " * 60, step_delay_s=0.01)
    run_bot(workspace, one_slot_engine)
    first = workspace.mention("ada", "support", "first")
    script.started.wait(10)
    second = workspace.mention("grace", "support", "second")
    workspace.wait_for(
        lambda: "waiting in line (#1)" in workspace.assistant_status("support", second) or None,
        timeout=10,
    )
    third = workspace.mention("linus", "support", "third")
    busy = notice_of(workspace, "support", third)
    assert shown_text(busy) == errors.BUSY
    assert payload(busy) == {"source_ts": third, "kind": "busy"}
    workspace.wait_for_reply("support", first, timeout=30)
    workspace.wait_for_reply("support", second, timeout=30)
    assert answer_text(workspace, "support", second) == "word " * 60


def test_an_engine_error_becomes_a_short_apology(workspace, run_bot, script, scripted_engine):
    script.fail_prefill = True
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "break please")
    notice = notice_of(workspace, "support", ts)
    assert shown_text(notice) == errors.GENERIC
    everything = str(workspace.thread("support", ts))
    for leak in ("RuntimeError", "Traceback", "xoxb-", "scripted prefill failure"):
        assert leak not in everything


def test_a_reply_timeout_cuts_the_answer_short_and_says_so(
    workspace, run_bot, endless_script, scripted_engine
):
    run_bot(workspace, scripted_engine, reply_timeout_s=1.0)
    ts = workspace.mention("ada", "support", "a long one")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert "Cut short: it took too long." in str(reply["blocks"])
    assert 0 < len(answer_text(workspace, "support", ts)) < len("word " * 2000)


def test_a_question_over_the_limit_is_refused_politely(workspace, run_bot, script, scripted_engine):
    run_bot(workspace, scripted_engine, max_question_chars=20)
    ts = workspace.mention("ada", "support", "this question is far too long for the limit")
    notice = notice_of(workspace, "support", ts)
    assert shown_text(notice) == errors.too_long(43, 20)
    assert script.prompts == []


def test_allowlists_keep_the_bot_to_its_channels_and_people(
    workspace, run_bot, script, scripted_engine
):
    run_bot(
        workspace,
        scripted_engine,
        allowed_channels=workspace.channel_id("general"),
        allowed_users=f"{workspace.user_id('ada')},{workspace.user_id('grace')}",
    )
    outside = workspace.mention("ada", "support", "am I allowed here?")
    workspace.wait_for(lambda: workspace.ephemerals("ada", "support") or None, timeout=10)
    assert errors.NOT_ALLOWED in workspace.ephemerals("ada", "support")[0]["text"]
    stranger = workspace.mention("linus", "general", "and me?")
    workspace.wait_for(lambda: workspace.ephemerals("linus", "general") or None, timeout=10)
    inside = workspace.mention("grace", "general", "hello?")
    workspace.wait_for_reply("general", inside, timeout=20)
    assert bot_replies(workspace, "support", outside) == []
    assert bot_replies(workspace, "general", stranger) == []
    assert len(script.prompts) == 1


def test_a_stopped_engine_is_explained(workspace, run_bot):
    engine = make_scripted_engine()
    run_bot(workspace, engine)
    engine.shutdown()
    ts = workspace.mention("ada", "support", "anyone home?")
    notice = notice_of(workspace, "support", ts)
    assert shown_text(notice) == "I'm restarting right now. Please ask again in a moment."


def test_an_engine_full_of_other_work_says_busy(workspace, run_bot):
    engine = make_scripted_engine(max_running=1, max_queue=0)
    try:
        new_script(engine, answer=lambda turns: "word " * 400, step_delay_s=0.01)
        run_bot(workspace, engine)
        # Another client of the same engine takes its only slot.
        other = engine.submit([{"role": "user", "content": "someone else's request"}])
        ts = workspace.mention("ada", "support", "am I next?")
        notice = notice_of(workspace, "support", ts)
        assert shown_text(notice) == errors.BUSY
        other.cancel()
    finally:
        engine.shutdown()


def test_server_errors_and_dropped_connections_are_retried(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Still delivered. " + "And then updated. " * 10
    script.step_delay_s = 0.005  # the first sentence is posted, the rest is an update
    workspace.inject("chat.postMessage", status=500)
    workspace.inject("chat.update", drop_connection=True)
    run_bot(workspace, scripted_engine, stream_mode="update", stream_update_interval_s=0.2)
    ts = workspace.mention("ada", "support", "hello?")
    workspace.wait_for_reply("support", ts, timeout=30)
    assert [c.status for c in workspace.calls("chat.postMessage")] == [500, 200]
    assert workspace.calls("chat.update")[0].status == 0  # the connection was cut
    assert answer_text(workspace, "support", ts) == "Still delivered. " + "And then updated. " * 10
