"""A native stream that fails mid-answer (a 429 past the retries, a Slack error) is stopped
before the answer goes on by chat.update: a live stream takes no chat.update
(streaming_state_conflict), which used to end the answer in an error (found by the soak)."""

from __future__ import annotations

import logging

from tests.bot.helpers import answer_text

ANSWER = " ".join(f"word{i}" for i in range(80)) + " THE END."


def test_a_stream_failing_mid_answer_is_stopped_then_finished_by_chat_update(
    workspace, run_bot, script, scripted_engine, caplog
):
    caplog.set_level(logging.INFO)
    script.answer = lambda turns: ANSWER
    script.step_delay_s = 0.01
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "tell me everything")
    workspace.wait_for(lambda: "word3" in answer_text(workspace, "support", ts) or None, timeout=20)
    workspace.inject("chat.appendStream", error="fatal_error")
    workspace.wait_for_reply("support", ts, timeout=30)
    assert answer_text(workspace, "support", ts) == ANSWER
    conflicts = [c for c in workspace.calls("chat.update") if c.error == "streaming_state_conflict"]
    assert conflicts == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    workspace.take_violations()  # the injected error is the point of this test
