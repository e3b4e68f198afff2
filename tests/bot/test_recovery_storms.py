"""Recovery that never storms (issue 18): a resumed job whose reply is gone gets a fresh reply,
a thread that is gone gets "please ask again" by DM, attempts are capped and backed off, and
every outcome is one log line without a traceback. Also: an answer cut by the length limit
says so instead of stopping mid-word."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import update

from bot import errors
from bot.answer.answerers import CUT_SHORT
from bot.replicas.recovery import MAX_ATTEMPTS
from store import Store
from store.jobs import JobBook
from store.schema import jobs
from tests.bot.helpers import answer_text, bot_replies, shown_text
from tests.bot.test_durability import _job_rows, _orphan


def _store_url(tmp_path: Path) -> str:
    (tmp_path / "data").mkdir(exist_ok=True)
    return f"sqlite:///{tmp_path / 'data' / 'deskhand.sqlite'}"


def _set(url: str, **values) -> None:
    store = Store.open(url)
    with store.begin() as conn:
        conn.execute(update(jobs).values(**values))
    store.close()


def _problems(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or r.levelno >= 40]


def test_a_resumed_job_whose_reply_was_deleted_gets_one_fresh_reply(
    workspace, run_bot, script, scripted_engine, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    url = _store_url(tmp_path)
    script.answer = lambda turns: "A fresh, complete answer."
    ts = _orphan(workspace, url, "are you there?")
    client = WebClient(token=workspace.bot_token, base_url=workspace.api_url)
    half = client.chat_postMessage(
        channel=workspace.channel_id("support"), thread_ts=ts, text="A fresh, compl"
    )["ts"]
    store = Store.open(url)
    [row] = _job_rows(url)
    JobBook(store, "dead-replica").set_reply(row["id"], [half])
    store.close()
    client.chat_delete(channel=workspace.channel_id("support"), ts=half)

    bot = run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    time.sleep(2.0)  # several sweeps: room for a retry loop to show itself
    assert [shown_text(m) for m in bot_replies(workspace, "support", ts)] == [
        "A fresh, complete answer."
    ]
    assert reply["ts"] != half
    [row] = _job_rows(url)
    assert (row["state"], row["attempts"], row["reply_ts"]) == ("answered", 2, reply["ts"])
    assert bot.recovery.resumed == 1 and bot.recovery.fresh_replies == 1
    assert len(script.prompts) == 1
    assert _problems(caplog.records) == []
    resumed = [r for r in caplog.records if "resuming the answer" in r.getMessage()]
    assert len(resumed) == 1 and "a fresh one" in resumed[0].getMessage()


def test_a_job_whose_thread_is_gone_asks_again_by_dm_once(
    workspace, run_bot, script, scripted_engine, tmp_path, caplog
):
    """The local workspace restarted empty: the question and its thread no longer exist."""
    caplog.set_level(logging.INFO)
    url = _store_url(tmp_path)
    _orphan(workspace, url, "are you there?")
    workspace.reset()
    bot = run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    dm = workspace.dm_channel("ada")
    notice = workspace.wait_for(
        lambda: next((m for m in workspace.messages(dm) if "ask again" in str(m)), None),
        timeout=20,
    )
    time.sleep(2.0)
    assert "restarted before I could answer your question" in notice["text"]
    assert len([m for m in workspace.messages(dm) if "ask again" in str(m)]) == 1
    [row] = _job_rows(url)
    assert (row["state"], row["outcome"], row["attempts"]) == ("failed", "gone", 2)
    assert (bot.recovery.apologized, bot.recovery.undelivered) == (1, 0)
    assert script.prompts == []
    assert _problems(caplog.records) == []
    lines = [r.getMessage() for r in caplog.records if r.name.endswith(".recovery")]
    assert len([m for m in lines if "ask again" in m]) == 1, lines


def test_attempts_are_capped_and_the_asker_is_told(
    workspace, run_bot, script, scripted_engine, tmp_path, caplog
):
    """A question that killed the process MAX_ATTEMPTS times is not tried again."""
    caplog.set_level(logging.INFO)
    url = _store_url(tmp_path)
    ts = _orphan(workspace, url, "the question that crashes you")
    _set(url, attempts=MAX_ATTEMPTS, state="answering")
    bot = run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    time.sleep(1.5)
    assert shown_text(reply) == errors.RESTARTED
    assert len(bot_replies(workspace, "support", ts)) == 1
    [row] = _job_rows(url)
    assert (row["state"], row["outcome"], row["attempts"]) == ("failed", "gave up", 4)
    assert script.prompts == [] and bot.recovery.gave_up == 1
    assert _problems(caplog.records) == []


def test_a_backed_off_job_is_not_counted_as_tried_while_it_waits(
    workspace, run_bot, script, scripted_engine, tmp_path
):
    """Attempt 3 waits 3 leases after the question; the sweeps meanwhile do not add tries."""
    url = _store_url(tmp_path)
    script.answer = lambda turns: "Third time lucky."
    ts = _orphan(workspace, url, "are you there?")
    _set(url, attempts=2, created_at=time.time())
    started = time.monotonic()
    run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    workspace.wait_for_reply("support", ts, timeout=20)
    assert time.monotonic() - started >= 2.0  # not before created_at + 3 × lease
    assert answer_text(workspace, "support", ts) == "Third time lucky."
    [row] = _job_rows(url)
    assert (row["state"], row["attempts"]) == ("answered", 3)


def test_an_answer_cut_by_the_length_limit_says_so(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: "Fit the EAGLE-HARNESS with a 12 mm hex key and two hands."
    run_bot(workspace, scripted_engine, max_new_tokens=22)
    ts = workspace.mention("ada", "support", "how do I fit the harness?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    text = answer_text(workspace, "support", ts)
    assert text.startswith("Fit the EAGLE-HAR") and text.endswith("…")  # not mid-word, bare
    blocks = str(reply["blocks"])
    assert CUT_SHORT in blocks and errors.CUT_SHORT_LENGTH not in blocks  # said once


def test_an_ask_again_that_reaches_nobody_is_counted_not_raised(
    workspace, run_bot, script, scripted_engine, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    url = _store_url(tmp_path)
    _orphan(workspace, url, "are you there?")
    workspace.reset()  # the thread is gone: the notice goes by DM, and the DM fails too
    workspace.inject("chat.postMessage", error="channel_not_found", times=None)
    bot = run_bot(workspace, scripted_engine, replica_lease_s=1.0)
    workspace.wait_for(lambda: bot.recovery.undelivered == 1 or None, timeout=20)
    time.sleep(1.5)
    [row] = _job_rows(url)
    assert (row["state"], row["outcome"]) == ("failed", "gone")
    assert (bot.recovery.undelivered, bot.recovery.apologized) == (1, 0)
    assert _problems(caplog.records) == []
    assert any("could not tell" in r.getMessage() for r in caplog.records)
    workspace.take_violations()  # the injected failure is the point of this test
