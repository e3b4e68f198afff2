"""Nothing lost, nothing doubled: the bot against the local workspace across `kill -9`,
restarts, redeliveries and two replicas on one database (review items 1, 2, 8, 12).

The crash tests run the real bot in child processes (tests/bot/replica.py) so that a SIGKILL
is a real death; the store is SQLite or the throw-away PostgreSQL (`store_url`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.slack import bench_seed, replies_by_question
from bot import errors
from bot.answer.jobs import AnswerJob
from bot.answer.routing import route_event
from bot.types import BotIdentity
from store import Store
from store.jobs import JobBook
from store.schema import jobs
from tests.bot.helpers import answer_text, bot_replies, shown_text
from tests.bot.replica import start_replica, stop_replica

LONG_ANSWER = " ".join(f"word{i}." for i in range(60)) + " THE END."  # sentences: streamed


@pytest.fixture
def replicas() -> Iterator[list]:
    started: list = []
    yield started
    for child in started:
        stop_replica(child)


def _job_rows(url: str) -> list[dict]:
    store = Store.open(url)
    with store.begin() as conn:
        rows = [dict(r) for r in conn.execute(select(jobs)).mappings()]
    store.close()
    return rows


def test_kill_9_mid_stream_then_restart_ends_with_one_complete_answer(
    make_workspace, store_url, replicas
):
    sb = make_workspace()
    first = start_replica(sb, store_url, answer=LONG_ANSWER, step_delay=0.03, lease=1.0)
    replicas.append(first)
    ts = sb.mention("ada", "support", "tell me the whole story")
    sb.wait_for(lambda: "word5" in answer_text(sb, "support", ts) or None, timeout=30)
    first.kill()  # SIGKILL: no goodbye, the stream is left open
    first.wait()
    assert "THE END" not in answer_text(sb, "support", ts)
    [job] = _job_rows(store_url)
    assert job["state"] == "answering" and job["reply_ts"]  # the reply's ts was recorded

    replicas.append(start_replica(sb, store_url, answer=LONG_ANSWER, lease=1.0))
    sb.wait_for(lambda: "THE END" in answer_text(sb, "support", ts) or None, timeout=60)
    sb.wait_for_reply("support", ts, timeout=30)  # final: no longer streaming or edited
    replies = bot_replies(sb, "support", ts)
    assert len(replies) == 1, [shown_text(m) for m in replies]  # finished in place
    assert shown_text(replies[0]) == LONG_ANSWER
    [job] = _job_rows(store_url)
    assert (job["state"], job["attempts"]) == ("answered", 2)
    assert job["reply_ts"] == replies[0]["ts"]


def test_a_redelivered_event_after_a_restart_is_not_answered_again(
    make_workspace, store_url, replicas
):
    sb = make_workspace()
    first = start_replica(sb, store_url, lease=1.0)
    replicas.append(first)
    ts = sb.mention("ada", "support", "what time is it?")
    sb.wait_for_reply("support", ts, timeout=30)
    stop_replica(first)
    replicas.append(start_replica(sb, store_url, lease=1.0))
    sb.wait_for(lambda: sb.num_connections() >= 1, timeout=10)
    event_ids = {
        d.event_id for d in sb.deliveries("events_api") if d.payload["event"].get("ts") == ts
    }
    assert len(event_ids) == 2  # app_mention and message
    for event_id in event_ids:
        assert event_id is not None
        sb.redeliver(event_id)
    sb.wait_for(
        lambda: sum(d.outcome == "acked" for d in sb.deliveries("events_api")) >= 4 or None,
        timeout=10,
    )
    time.sleep(1.5)  # room for a wrong second answer to show itself
    assert len(bot_replies(sb, "support", ts)) == 1


@pytest.mark.slow
def test_two_replicas_on_postgres_answer_a_200_mention_burst_exactly_once(
    make_workspace, postgres_store_url, replicas
):
    url = postgres_store_url
    sb = make_workspace(seed=bench_seed(users=20, channels=10))
    for _ in range(2):
        replicas.append(start_replica(sb, url, answer="Short answer.", lease=2.0))
    sb.wait_for(lambda: sb.num_connections() >= 2, timeout=10)
    mentions = []
    for i in range(200):
        channel = f"bench-{i % 10}"
        mentions.append((channel, sb.mention(f"user{i % 20:02d}", channel, f"question {i}?")))

    def all_done() -> bool:
        states = [replies_by_question(sb, c, ts) for c, ts in mentions]
        return all(n >= 1 and not writing for n, writing in states)

    sb.wait_for(all_done, timeout=240)
    time.sleep(1.5)  # room for a late duplicate
    counts = [replies_by_question(sb, c, ts)[0] for c, ts in mentions]
    assert counts.count(1) == 200, (
        f"duplicates: {sum(n - 1 for n in counts if n > 1)}, unanswered: {counts.count(0)}"
    )
    asked = {ts for _, ts in mentions}
    delivered = [d for d in sb.deliveries("events_api") if d.payload["event"].get("ts") in asked]
    assert len(delivered) == 400 and all(d.outcome == "acked" for d in delivered)
    owners = {row["owner"] for row in _job_rows(url)}
    assert len(owners) == 2  # the emulator spread the events over both replicas' sockets


# --- resuming, in process -------------------------------------------------------------------
def _orphan(sb, store_url: str, text: str) -> str:
    """A mention whose job a dead replica claimed and never answered; returns its ts."""
    ts = sb.post_message("ada", "support", f"<@{sb.bot_user_id}> {text}")
    event = next(m for m in sb.messages("support") if m["ts"] == ts)
    identity = BotIdentity(sb.bot_user_id, sb.bot_id, sb.team_id)
    question = route_event({**event, "channel": sb.channel_id("support")}, bot=identity).question
    assert question is not None
    job = AnswerJob(question, prefetched=[event])
    store = Store.open(store_url)
    assert JobBook(store, "dead-replica").claim(
        job.id, channel=question.channel_id, ts=question.ts, user_id=question.user_id,
        kind=question.kind, payload=job.to_payload(),
    )  # fmt: skip
    store.close()
    return ts


def test_on_start_a_dead_replicas_question_is_answered(
    workspace, run_bot, script, scripted_engine, bot_store_url
):
    script.answer = lambda turns: "Better late than never."
    ts = _orphan(workspace, bot_store_url, "are you there?")
    run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert shown_text(reply) == "Better late than never."
    assert [r["state"] for r in _job_rows(bot_store_url)] == ["answered"]


def test_a_question_too_old_to_resume_gets_please_ask_again(
    workspace, run_bot, scripted_engine, bot_store_url
):
    ts = _orphan(workspace, bot_store_url, "are you there?")
    run_bot(workspace, scripted_engine, replica_lease_s=1.0, resume_max_age_s=0)
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert shown_text(reply) == errors.RESTARTED
    assert [(r["state"], r["outcome"]) for r in _job_rows(bot_store_url)] == [
        ("failed", "restarted")
    ]


def test_one_person_cannot_fill_the_pool(workspace, run_bot, script, scripted_engine):
    """Review item 8: USER_MAX_IN_FLIGHT questions from one person; others still get in."""
    script.answer = lambda turns: "word " * 300
    script.step_delay_s = 0.01
    run_bot(workspace, scripted_engine, user_max_in_flight=1, stream_mode="update")
    first = workspace.mention("ada", "support", "first question")
    workspace.wait_for(lambda: bot_replies(workspace, "support", first) or None, timeout=10)
    second = workspace.mention("ada", "support", "second question")
    notice = workspace.wait_for_reply("support", second, timeout=10)
    assert shown_text(notice) == errors.too_many_waiting(1)
    other = workspace.mention("grace", "support", "my question")
    workspace.wait_for(lambda: bot_replies(workspace, "support", other) or None, timeout=10)
    assert "waiting for an answer" not in str(bot_replies(workspace, "support", other))


def test_a_stream_the_store_never_heard_of_is_taken_over_not_doubled(
    workspace, run_bot, script, scripted_engine, bot_store_url
):
    """A process killed between Slack starting its stream and the store recording the ts."""
    from slack_sdk import WebClient

    script.answer = lambda turns: "The whole answer."
    ts = _orphan(workspace, bot_store_url, "are you there?")
    client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
    client.chat_startStream(
        channel=workspace.channel_id("support"), thread_ts=ts, markdown_text="The wh",
        recipient_user_id=workspace.user_id("ada"), recipient_team_id=workspace.team_id,
    )  # fmt: skip
    run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    workspace.wait_for(
        lambda: "The whole answer." in answer_text(workspace, "support", ts) or None, timeout=20
    )
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert [shown_text(m) for m in bot_replies(workspace, "support", ts)] == ["The whole answer."]
    assert not workspace.is_streaming("support", reply["ts"])


def test_an_orderly_stop_mid_answer_hands_the_answer_to_the_next_process(
    workspace, run_bot, script, scripted_engine, tmp_path: Path
):
    """Review item 1: a stop no longer ends answers in flight as "Stopped."; the job stays
    open and the next process (or another replica) finishes the same message."""
    from bot.runtime import start_bot
    from tests.bot.conftest import bot_settings

    script.answer = lambda turns: LONG_ANSWER
    script.step_delay_s = 0.03
    data = tmp_path / "data"
    first = start_bot(
        bot_settings(
            workspace, data_dir=data, replica_lease_s=1.0, max_new_tokens=20_000
        ).bot_config(),
        scripted_engine,
        mode="socket",
    )
    workspace.wait_for(lambda: workspace.num_connections() >= 1, timeout=10)
    ts = workspace.mention("ada", "support", "tell me the whole story")
    workspace.wait_for(lambda: "word5" in answer_text(workspace, "support", ts) or None, timeout=30)
    first.stop()
    shown = answer_text(workspace, "support", ts)
    assert "finish this answer" in shown and "Stopped." not in shown
    [job] = _job_rows(f"sqlite:///{data / 'deskhand.sqlite'}")
    assert job["state"] == "answering"
    script.step_delay_s = 0.0
    run_bot(workspace, scripted_engine, data_dir=data, replica_lease_s=1.0)
    workspace.wait_for(
        lambda: "THE END" in answer_text(workspace, "support", ts) or None, timeout=30
    )
    workspace.wait_for_reply("support", ts, timeout=20)
    assert [shown_text(m) for m in bot_replies(workspace, "support", ts)] == [LONG_ANSWER]
