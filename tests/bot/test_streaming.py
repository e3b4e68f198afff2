"""The answer grows in place: Slack's native stream, its chat.update fallbacks, and Stop."""

from __future__ import annotations

import time

from tests.bot.helpers import (
    answer_text,
    block_types,
    find_element,
    payload,
    wait_for_stop_button,
    wait_for_streaming,
)

SLOW_ANSWER = "Step one, then step two. " * 16  # 400 characters


def methods(sb) -> list[str]:
    return [c.method for c in sb.calls() if c.method.startswith(("chat.", "assistant."))]


def test_native_stream_grows_the_answer_and_ends_with_feedback(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: SLOW_ANSWER
    script.step_delay_s = 0.004  # ~1.6 s of generation: several appends
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "how does it work?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    called = methods(workspace)
    assert called[0] == "assistant.threads.setStatus"
    assert called.count("chat.startStream") == 1 and called.count("chat.stopStream") == 1
    assert called.count("chat.appendStream") >= 2
    assert "chat.update" not in called and "chat.postMessage" not in called
    start = workspace.calls("chat.startStream")[0].args
    assert start["recipient_user_id"] == workspace.user_id("ada")
    assert start["recipient_team_id"] == workspace.team_id
    assert answer_text(workspace, "support", ts) == SLOW_ANSWER
    assert "context_actions" in block_types(reply)  # 👍/👎 once finished
    assert payload(reply) == {"source_ts": ts, "part": 0, "streaming": False}


def test_a_refused_stream_falls_back_to_chat_update(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: SLOW_ANSWER
    script.step_delay_s = 0.003
    workspace.inject("chat.startStream", error="missing_recipient_user_id")
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "how does it work?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    called = methods(workspace)
    assert "chat.postMessage" in called and "chat.update" in called
    assert "chat.appendStream" not in called
    assert answer_text(workspace, "support", ts) == SLOW_ANSWER
    assert find_element(reply, "deskhand_stop") is None  # the Stop button goes when done


def test_an_expired_stream_is_finished_with_chat_update(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: SLOW_ANSWER
    script.step_delay_s = 0.006
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "how does it work?")
    streaming_ts = wait_for_streaming(workspace, "support", ts)
    workspace.expire_stream("support", streaming_ts)
    workspace.wait_for_reply("support", ts, timeout=30)
    updates = workspace.calls("chat.update")
    assert updates and all(c.args["ts"] == streaming_ts for c in updates)
    assert any(
        c.error == "message_not_in_streaming_state"
        for c in workspace.calls("chat.appendStream") + workspace.calls("chat.stopStream")
    )
    assert answer_text(workspace, "support", ts) == SLOW_ANSWER


def test_an_old_stream_is_handed_to_chat_update_before_slack_expires_it(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: SLOW_ANSWER
    script.step_delay_s = 0.005
    run_bot(workspace, scripted_engine, stream_max_age_s=0.3)
    ts = workspace.mention("ada", "support", "how does it work?")
    workspace.wait_for_reply("support", ts, timeout=30)
    called = methods(workspace)
    assert called.index("chat.stopStream") < called.index("chat.update")
    assert not any(c.error for c in workspace.calls())
    assert answer_text(workspace, "support", ts) == SLOW_ANSWER


def test_update_mode_edits_at_most_about_once_a_second(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: SLOW_ANSWER
    script.step_delay_s = 0.006  # ~2.4 s
    run_bot(workspace, scripted_engine, stream_mode="update", stream_update_interval_s=1.0)
    ts = workspace.mention("ada", "support", "how does it work?")
    started = time.monotonic()
    workspace.wait_for_reply("support", ts, timeout=30)
    elapsed = time.monotonic() - started
    writes = workspace.calls("chat.update")
    assert 1 <= len(writes) <= elapsed / 1.0 + 2
    assert workspace.calls("chat.postMessage")[0].args["metadata"]["event_payload"]["streaming"]
    assert answer_text(workspace, "support", ts) == SLOW_ANSWER


def test_a_top_level_dm_shows_a_placeholder_then_the_answer(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Here you go."
    run_bot(workspace, scripted_engine)
    dm = workspace.dm_channel("grace")
    workspace.dm("grace", "hi")
    workspace.wait_for_reply(dm, None, timeout=20)
    first_post = workspace.calls("chat.postMessage")[0].args
    assert first_post["blocks"][0]["text"] == "_Thinking…_"
    assert find_element(first_post, "deskhand_stop") is not None
    assert "assistant.threads.setStatus" not in methods(workspace)  # no thread to show it in
    final = workspace.calls("chat.update")[-1].args
    assert final["blocks"][0] == {"type": "markdown", "text": "Here you go."}


def test_the_stop_button_cancels_generation_and_keeps_the_partial_answer(
    workspace, run_bot, endless_script, scripted_engine
):
    run_bot(workspace, scripted_engine, stream_mode="update", stream_update_interval_s=0.3)
    ts = workspace.mention("ada", "support", "tell me everything")
    message = wait_for_stop_button(workspace, "support", ts, "word")
    button = find_element(message, "deskhand_stop")
    clicked = time.monotonic()
    workspace.click("ada", "support", message["ts"], "deskhand_stop", value=button["value"])
    workspace.wait_for(lambda: scripted_engine.stats().running == 0 or None, timeout=5)
    assert time.monotonic() - clicked < 2.0  # the engine slot is free at once
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert "Stopped." in str(reply["blocks"])
    assert find_element(reply, "deskhand_stop") is None
    assert 0 < len(answer_text(workspace, "support", ts)) < len("word " * 2000)


def test_slacks_own_stop_on_a_stream_cancels_generation(
    workspace, run_bot, endless_script, scripted_engine
):
    run_bot(workspace, scripted_engine, stream_update_interval_s=0.2)
    ts = workspace.mention("ada", "support", "tell me everything")
    streaming_ts = wait_for_streaming(workspace, "support", ts)
    workspace.stop_stream("support", streaming_ts)
    workspace.wait_for(lambda: scripted_engine.stats().running == 0 or None, timeout=5)
    calls_after = len(workspace.calls())
    time.sleep(0.5)
    assert len(workspace.calls()) == calls_after  # nothing more is sent to a stopped stream


def test_without_assistant_status_a_placeholder_becomes_the_answer(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Answer in the placeholder."
    workspace.inject("assistant.threads.setStatus", error="missing_scope")
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "hello?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    placeholder = workspace.calls("chat.postMessage")[0]
    assert placeholder.args["blocks"][0]["text"] == "_Thinking…_"
    assert placeholder.response["ts"] == reply["ts"]  # edited into the answer
    assert answer_text(workspace, "support", ts) == "Answer in the placeholder."
    assert workspace.calls("chat.startStream") == []
