"""Routing through the real SupportDesk over the sample KB, end to end in the emulator: the two
conversations from issue 10 get a general answer (not a hand-off), small talk a friendly
reply, and a support question still the grounded answer with its sources."""

from __future__ import annotations

from bot.answer.answerers import RoutingAnswerer, open_answerer
from tests.bot.conftest import bot_settings
from tests.bot.helpers import answer_text, find_element, shown_text
from tests.bot.scripted import Turns


def general_assistant(turns: Turns) -> str:
    """The scripted model: a capital, a haiku, or a KB lead-in, by what it was asked."""
    last = turns[-1][1]
    if "capital of France" in last:
        return "The capital of France is Paris."
    if "haiku" in last:
        return "Alarm rings too soon\nCoffee steams, the inbox fills\nMonday, here again"
    return "Frames have a long warranty."


def context_of(message: dict) -> str:
    return " ".join(
        e.get("text", "")
        for b in message.get("blocks") or []
        if b["type"] == "context"
        for e in b["elements"]
    )


def test_off_topic_questions_get_the_assistant_and_small_talk_a_friendly_reply(
    workspace, run_bot, script, scripted_engine, sample_kb
):
    script.answer = general_assistant
    settings = bot_settings(
        workspace,
        **sample_kb,
        channel_modes="",  # auto everywhere: the default once a KB is loaded
        max_new_tokens=20_000,
    )
    answerer = open_answerer(settings.bot_config(), scripted_engine)
    assert isinstance(answerer, RoutingAnswerer)
    run_bot(workspace, scripted_engine, answerer=answerer)

    # 1) The DM from the issue: a general answer, with the one-line note, no hand-off.
    dm = workspace.dm_channel("linus")
    workspace.dm("linus", "What is the capital of France? Answer in one sentence.")
    reply = workspace.wait_for_reply(dm, None, timeout=30)
    assert shown_text(reply) == "The capital of France is Paris."
    assert "Gorsebeck" not in str(reply) and "closest I found" not in str(reply)
    assert find_element(reply, "deskhand_handoff") is None
    assert "Not from our help articles" in context_of(reply)

    # 2) The mention from the issue: a haiku in the thread, no "couldn't find".
    ts = workspace.mention("ada", "support", "write a haiku about Mondays")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    text = answer_text(workspace, "support", ts)
    assert text == "Alarm rings too soon\nCoffee steams, the inbox fills\nMonday, here again"
    assert find_element(reply, "deskhand_handoff") is None
    assert "Not from our help articles" in context_of(reply)

    # 3) Small talk: a short friendly reply that the model never wrote.
    prompts_before = len(script.prompts)
    ts = workspace.mention("ada", "support", "thanks, that helped!")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert answer_text(workspace, "support", ts) == (
        "You're welcome! Anything else I can help with?"
    )
    assert find_element(reply, "deskhand_handoff") is None
    assert len(script.prompts) == prompts_before

    # 4) A support question still gets the grounded answer and its sources.
    ts = workspace.mention("ada", "support", "How long is the warranty on an e-bike frame?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert "Pebblewren E5 frame" in answer_text(workspace, "support", ts)
    assert "Sources: Gorsebeck Cycles Warranty" in context_of(reply)
    assert "Not from our help articles" not in context_of(reply)


def test_a_kb_channel_hands_off_what_it_cannot_answer(
    workspace, run_bot, script, scripted_engine, sample_kb
):
    script.answer = general_assistant
    support = workspace.channel_id("support")
    settings = bot_settings(
        workspace,
        **sample_kb,
        channel_modes=f"{support}=kb",
    )
    run_bot(
        workspace,
        scripted_engine,
        answerer=open_answerer(settings.bot_config(), scripted_engine),
        escalation_channel=workspace.channel_id("general"),
    )
    ts = workspace.mention(
        "ada", "support", "What is the capital of France? Answer in one sentence."
    )
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    # A support desk answers from the documents or hands off; and it does not quote the
    # delivery policy merely because it names France.
    assert answer_text(workspace, "support", ts).startswith(
        "Sorry, I couldn't find that in our help articles."
    )
    assert "Gorsebeck delivers" not in str(reply)
    assert find_element(reply, "deskhand_handoff") is not None
    assert not any("haiku" in t or "France" in t for p in script.prompts for _, t in p[-1:])
