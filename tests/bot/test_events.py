"""Mentions, follow-ups and DMs through Bolt's real dispatch over Socket Mode against the
emulator, answered by the engine (scripted tiny model); contract violations checked at teardown."""

from __future__ import annotations

import time

from slackemu import FakeClock
from tests.bot.helpers import answer_text, answers, bot_replies, payload


def settle(sb, bot, seconds: float = 0.4) -> None:
    """Wait until every delivery is acked and the bot has nothing in flight."""
    sb.wait_for(lambda: all(d.outcome != "pending" for d in sb.deliveries()), timeout=10)
    time.sleep(seconds)
    sb.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)


def first_parts(sb, channel, thread_ts):
    return [m for m in answers(sb, channel, thread_ts) if payload(m).get("part") == 0]


def test_a_mention_is_answered_in_its_thread_with_a_status_first(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "**Warranty**: claim it online."
    run_bot(workspace, scripted_engine, system_prompt="You are terse.")
    ts = workspace.mention("ada", "support", "how do I claim my warranty?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert reply["thread_ts"] == ts
    assert answer_text(workspace, "support", ts) == "**Warranty**: claim it online."
    status_calls = workspace.calls("assistant.threads.setStatus")
    assert status_calls and status_calls[0].args["status"] == "is thinking…"
    assert workspace.assistant_status("support", ts) == ""  # the reply cleared it
    system, question = script.prompts[-1]
    assert system == ("system", "You are terse.")
    assert question == ("user", "how do I claim my warranty?")  # mention stripped, no name


def test_a_mention_inside_a_thread_sees_the_whole_thread(
    workspace, run_bot, script, scripted_engine
):
    run_bot(workspace, scripted_engine)
    parent = workspace.post_message("grace", "support", "My Pebblewren E5 shows error E12")
    workspace.post_message("linus", "support", "same here, since the update", thread_ts=parent)
    ts = workspace.mention("ada", "support", "what does it mean?", thread_ts=parent)
    reply = workspace.wait_for_reply("support", parent, timeout=20)
    assert reply["thread_ts"] == parent
    assert script.prompts[-1][1:] == [
        ("user", "[message from Grace]\nMy Pebblewren E5 shows error E12"),
        ("user", "[message from Linus]\nsame here, since the update"),
        ("user", "what does it mean?"),  # the asker's own turn: no name to copy
    ]
    assert payload(reply)["source_ts"] == ts


def test_follow_ups_in_a_bot_thread_need_no_mention(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: f"Answer {len(turns)}"
    bot = run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "first question")
    workspace.wait_for_reply("support", ts, timeout=20)
    follow_up = workspace.post_message("ada", "support", "and a second one?", thread_ts=ts)
    workspace.wait_for_reply("support", ts, timeout=20, after_ts=follow_up)
    assert script.prompts[-1][1:] == [
        ("user", "first question"),
        ("assistant", "Answer 2"),
        ("user", "and a second one?"),
    ]
    # Someone else's thread, or a reply addressed to another person: not ours to answer.
    other = workspace.post_message("grace", "support", "lunch?")
    workspace.post_message("linus", "support", "yes", thread_ts=other)
    workspace.post_message(
        "grace", "support", f"<@{workspace.user_id('linus')}> can you check?", thread_ts=ts
    )
    settle(workspace, bot)
    assert bot_replies(workspace, "support", other) == []
    assert len(first_parts(workspace, "support", ts)) == 2


def test_follow_ups_can_be_turned_off(workspace, run_bot, script, scripted_engine):
    bot = run_bot(workspace, scripted_engine, thread_followups=False)
    ts = workspace.mention("ada", "support", "first question")
    workspace.wait_for_reply("support", ts, timeout=20)
    workspace.post_message("ada", "support", "and a second one?", thread_ts=ts)
    settle(workspace, bot)
    assert len(first_parts(workspace, "support", ts)) == 1


def test_direct_messages_are_answered_with_recent_history(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "DM answer"
    run_bot(workspace, scripted_engine)
    dm = workspace.dm_channel("ada")
    first = workspace.dm("ada", "hello there")
    workspace.wait_for_reply(dm, None, timeout=20)
    second = workspace.dm("ada", "what did I just say?")
    reply = workspace.wait_for_reply(dm, None, timeout=20, after_ts=second)
    assert "thread_ts" not in reply  # a top-level DM gets a top-level answer
    assert script.prompts[-1][1:] == [
        ("user", "hello there"),
        ("assistant", "DM answer"),
        ("user", "what did I just say?"),
    ]
    # Inside a DM thread, the thread is the context.
    workspace.dm("ada", "a reply in a thread", thread_ts=first)
    threaded = workspace.wait_for_reply(dm, first, timeout=20)
    assert threaded["thread_ts"] == first
    assert script.prompts[-1][1:] == [
        ("user", "hello there"),
        ("user", "a reply in a thread"),
    ]


def test_a_channel_mention_arrives_twice_and_is_answered_once(
    workspace, run_bot, script, scripted_engine
):
    bot = run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "hello?")
    workspace.wait_for_reply("support", ts, timeout=20)
    settle(workspace, bot)
    kinds = sorted(
        d.event_type
        for d in workspace.deliveries("events_api")
        if d.payload["event"].get("ts") == ts
    )
    assert kinds == ["app_mention", "message"]
    assert len(first_parts(workspace, "support", ts)) == 1
    assert len(script.prompts) == 1


def test_redelivered_events_are_answered_once(workspace, run_bot, script, scripted_engine):
    bot = run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "hello?")
    workspace.wait_for_reply("support", ts, timeout=20)

    def of_question():
        return [d for d in workspace.deliveries("events_api") if d.payload["event"].get("ts") == ts]

    # Slack redelivers an event it thinks failed: the same payload (same event_id) in a new
    # envelope. NOTE: slackemu has no public "redeliver" call; its dispatcher sends it.
    first = [d.payload for d in of_question()]
    for _ in range(3):
        for event in first:
            workspace._on_loop(lambda event=event: workspace.emulator.dispatcher.send_event(event))
    workspace.wait_for(lambda: len(of_question()) >= 8 or None, timeout=10)
    settle(workspace, bot)
    assert {d.outcome for d in of_question()} == {"acked"}
    assert len({d.envelope_id for d in of_question()}) == 8
    assert len(first_parts(workspace, "support", ts)) == 1
    assert len(script.prompts) == 1


def test_bots_edits_and_deletions_are_acked_and_ignored(
    workspace, run_bot, script, scripted_engine
):
    bot = run_bot(workspace, scripted_engine)
    loop = workspace.mention("otterbot", "general", "hello bot, answer me!")
    ts = workspace.mention("ada", "general", "a real question")
    workspace.wait_for_reply("general", ts, timeout=20)
    workspace.edit("ada", "general", ts, f"<@{workspace.bot_user_id}> an edited question")
    workspace.delete("ada", "general", ts)
    settle(workspace, bot)
    assert bot_replies(workspace, "general", loop) == []
    assert len(script.prompts) == 1
    outcomes = {d.outcome for d in workspace.deliveries()}
    assert outcomes == {"acked"}, "every delivery (ours echoed back too) must be acked"


def test_a_reconnect_mid_answer_still_answers_once(
    make_workspace, run_bot, script, scripted_engine
):
    sb = make_workspace(clock=FakeClock())
    script.answer = lambda turns: "word " * 60
    script.step_delay_s = 0.005
    bot = run_bot(sb, scripted_engine)
    ts = sb.mention("ada", "support", "a slow question")
    script.started.wait(10)
    sb.disconnect("refresh_requested")
    sb.wait_for_reply("support", ts, timeout=30)
    later = sb.mention("grace", "support", "after the reconnect")
    sb.wait_for_reply("support", later, timeout=30)
    settle(sb, bot)
    assert answer_text(sb, "support", ts) == "word " * 60
    assert len(first_parts(sb, "support", ts)) == 1
    assert len(first_parts(sb, "support", later)) == 1


def test_a_long_thread_is_trimmed_to_the_window_and_says_so(workspace, run_bot, tiny_engine):
    """The tiny random model (1,024-token window) writes the answer; the thread does not fit."""
    parent = workspace.post_message("grace", "support", "The opening question about my bike.")
    for i in range(12):
        workspace.post_message(
            "linus" if i % 2 else "grace",
            "support",
            f"message {i}: " + "details " * 25,
            thread_ts=parent,
        )
    run_bot(workspace, tiny_engine, max_new_tokens=12)
    workspace.mention("ada", "support", "so what should we do?", thread_ts=parent)
    reply = workspace.wait_for_reply("support", parent, timeout=60)
    context = next(b for b in reply["blocks"] if b["type"] == "context")
    assert "earlier messages left out to fit the model's context" in str(context)
    assert answer_text(workspace, "support", parent).strip()  # the model's (random) words
