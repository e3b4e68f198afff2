"""The slash command: acked at once, answered in a new thread or privately with Share."""

from __future__ import annotations

from slackemu.seed import DEFAULT_SEED
from tests.bot.helpers import answer_text, bot_messages, find_element, payload, wait_for_bot_message


def test_ask_posts_the_question_and_answers_in_its_thread(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: f"Answer to {turns[-1][1]}"
    run_bot(workspace, scripted_engine)
    seen = workspace.slash("ada", "support", "/ask", "how do refunds work?")
    assert seen == {"acked": True, "payload": None, "error": None}
    question = wait_for_bot_message(workspace, "support")
    assert question["text"] == "**Ada** asked: how do refunds work?"
    assert payload(question) == {"user_id": workspace.user_id("ada")}
    workspace.wait_for_reply("support", question["ts"], timeout=20)
    assert answer_text(workspace, "support", question["ts"]) == "Answer to how do refunds work?"
    # A follow-up in that thread continues the conversation, the question as the asker's turn.
    follow_up = workspace.post_message("ada", "support", "and exchanges?", thread_ts=question["ts"])
    workspace.wait_for_reply("support", question["ts"], timeout=20, after_ts=follow_up)
    assert script.prompts[-1][1:] == [
        ("user", "how do refunds work?"),
        ("assistant", "Answer to how do refunds work?"),
        ("user", "and exchanges?"),
    ]


def test_ask_privately_then_share_to_the_channel(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: "A **private** answer."
    run_bot(workspace, scripted_engine, slash_ephemeral=True)
    seen = workspace.slash("ada", "support", "/ask", "is this private?")
    assert seen["acked"] and "Thinking" in seen["payload"]["text"]

    def final_ephemeral():
        for eph in workspace.ephemerals("ada", "support"):
            if find_element(eph, "deskhand_share"):
                return eph
        return None

    eph = workspace.wait_for(final_ephemeral, timeout=20)
    assert "A **private** answer." in eph["blocks"][0]["text"]
    assert "is this private?" in eph["blocks"][0]["text"]
    assert bot_messages(workspace, "support") == [], "nothing public yet"
    share = find_element(eph, "deskhand_share")
    workspace.click("ada", "support", eph["ts"], "deskhand_share", value=share["value"])
    question = wait_for_bot_message(workspace, "support")
    assert question["text"] == "**Ada** asked: is this private?"
    workspace.wait_for_reply("support", question["ts"], timeout=10)
    assert answer_text(workspace, "support", question["ts"]) == "A **private** answer."
    workspace.wait_for(lambda: not workspace.ephemerals("ada", "support") or None, timeout=10)


def test_ask_without_a_question_shows_usage(workspace, run_bot, scripted_engine):
    run_bot(workspace, scripted_engine)
    for text in ("", "help"):
        seen = workspace.slash("ada", "support", "/ask", text)
        assert seen["acked"] and "/ask how do I claim my warranty?" in seen["payload"]["text"]
    assert workspace.calls("chat.postMessage") == []


def test_ask_where_the_bot_cannot_post_answers_privately(
    make_workspace, run_bot, script, scripted_engine
):
    channels = [*DEFAULT_SEED["channels"], {"name": "random", "members": "*", "bot": False}]
    sb = make_workspace(seed={"channels": channels})
    script.answer = lambda turns: "Only you can see this."
    run_bot(sb, scripted_engine)
    assert sb.slash("ada", "random", "/ask", "am I alone?")["acked"]
    eph = sb.wait_for(
        lambda: next(
            (
                e
                for e in sb.ephemerals("ada", "random")
                if "Only you can see this." in str(e["blocks"])
            ),
            None,
        ),
        timeout=20,
    )
    assert find_element(eph, "deskhand_share") is not None
    assert [c.error for c in sb.calls("chat.postMessage")] == ["not_in_channel"]
