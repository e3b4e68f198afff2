"""Long threads and mention floods, end to end against the emulator: the context is the
thread's newest messages (not its oldest), and a message naming 2,000 made-up users costs a
bounded number of users.info calls, none repeated for a failed id."""

from __future__ import annotations

from typing import Any

from bot.answer.reader import MAX_LOOKUPS_PER_READ, MAX_THREAD_MESSAGES
from slackemu import Sandbox
from tests.bot.helpers import shown_text

REPLIES = MAX_THREAD_MESSAGES + 200


def seed_replies(sb: Sandbox, channel: str, thread_ts: str, texts: list[str]) -> None:
    """Add replies to a thread straight into the workspace (no events: nobody is notified)."""

    def add() -> None:
        emulator: Any = sb.emulator
        conv = emulator._conversation(channel)
        people = [emulator._user("ada"), emulator._user("grace")]
        for index, text in enumerate(texts):
            emulator.ws.add_message(conv, people[index % 2], text, thread_ts=thread_ts)

    sb._on_loop(add)


def test_a_long_thread_is_answered_from_its_newest_messages(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Noted."
    run_bot(workspace, scripted_engine)
    root = workspace.mention("ada", "support", "opening question about the printer")
    workspace.wait_for_reply("support", root, timeout=20)
    texts = [f"reply number {i} " + "filler " * 60 for i in range(REPLIES)]
    seed_replies(workspace, "support", root, texts)
    replies_calls = len(workspace.calls("conversations.replies"))

    workspace.mention("grace", "support", "so what was said last?", thread_ts=root)
    workspace.wait_for(lambda: len(script.prompts) >= 2 or None, timeout=20)
    workspace.wait_for_reply("support", root, timeout=20)
    prompt = "\n".join(content for _, content in script.prompts[-1])
    assert "opening question about the printer" in prompt  # the parent always stays
    assert f"reply number {REPLIES - 1} " in prompt  # the newest replies are there
    assert "reply number 3 " not in prompt  # the oldest are not
    assert prompt.rstrip().endswith("so what was said last?")
    pages = len(workspace.calls("conversations.replies")) - replies_calls
    assert pages <= REPLIES // 200 + 2


def test_a_mention_flood_costs_a_bounded_number_of_name_lookups(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Fine."
    run_bot(workspace, scripted_engine)
    root = workspace.mention("ada", "support", "hello")
    workspace.wait_for_reply("support", root, timeout=20)
    flood = " ".join(f"<@U0FAKE{i:05d}>" for i in range(2_000))
    seed_replies(workspace, "support", root, [flood])
    before = len(workspace.calls("users.info"))

    for n, text in enumerate(["who are all these people?", "and now?"]):
        workspace.mention("ada", "support", text, thread_ts=root)
        workspace.wait_for(lambda n=n: len(script.prompts) >= n + 2 or None, timeout=20)
        assert shown_text(workspace.wait_for_reply("support", root, timeout=20)) == "Fine."

    lookups = [c.args.get("user") for c in workspace.calls("users.info")[before:]]
    assert 0 < len(lookups) <= 2 * MAX_LOOKUPS_PER_READ
    assert len(lookups) == len(set(lookups))  # a failed lookup is not retried at once


def test_a_follow_up_in_a_long_bot_thread_is_still_answered(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Still with you."
    run_bot(workspace, scripted_engine)
    root = workspace.mention("ada", "support", "first question")
    workspace.wait_for_reply("support", root, timeout=20)
    seed_replies(workspace, "support", root, [f"chatter {i}" for i in range(REPLIES)])
    workspace.post_message("ada", "support", "one more thing, no mention", thread_ts=root)
    reply = workspace.wait_for_reply("support", root, timeout=20)
    assert shown_text(reply) == "Still with you."
