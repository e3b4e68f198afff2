"""The knowledge-base seam: sources in a context block, feedback stored through the desk,
"Ask a human" on abstain/hand-off; the plain answerer acknowledges feedback only. The last test
runs the real SupportDesk over the sample knowledge base."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.answer.answerers import KnowledgeAnswerer, open_answerer
from kb.types import AnswerPlan, FinalAnswer, Source
from tests.bot.conftest import bot_settings
from tests.bot.helpers import (
    answer_text,
    bot_messages,
    bot_replies,
    click_feedback,
    find_element,
    shown_text,
    wait_for_bot_message,
)

WARRANTY = Source("Frame warranty", "https://help.example.com/warranty", "warranty.md")


class FakeDesk:
    """kb.desk.SupportDesk's surface, scripted: answers about warranties, abstains otherwise."""

    modes = None  # no channel modes: every channel answers from the knowledge base

    def __init__(self) -> None:
        self.votes: list[tuple[int, int, str | None]] = []
        self.logged: list[str] = []
        self.histories: list[list[dict[str, str]]] = []
        self.lock = threading.Lock()

    def prepare(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        channel_id: str | None = None,
    ) -> AnswerPlan:
        self.histories.append(list(history or []))
        grounded = "warranty" in question.lower()
        messages = (
            [{"role": "user", "content": f"Facts: frames 5 years.\n\n{question}"}]
            if grounded
            else []
        )
        return AnswerPlan(
            question,
            question,
            "en",
            None,
            [],
            [],
            0.9 if grounded else 0.1,
            "answer" if grounded else "abstain",
            messages,
            [WARRANTY] if grounded else [],
            0.01,
        )

    def draft(self, plan: AnswerPlan, generated_so_far: str) -> str:
        return generated_so_far.split("!")[0]  # the real desk cuts invented values; here "!"

    def finalize(self, plan: AnswerPlan, generated_text: str) -> FinalAnswer:
        if plan.tier == "abstain":
            body = "Sorry, I couldn't find that in our help articles."
            return FinalAnswer(body, body, [], True, True, "abstain", False)
        body = f"Here's what our help articles say:\n> {generated_text}"
        return FinalAnswer(
            body + "\n_Sources: Frame warranty_", body, [WARRANTY], False, False, "answer", True
        )

    def log_answer(self, plan: AnswerPlan, final: FinalAnswer, **kwargs: Any) -> int:
        with self.lock:
            self.logged.append(plan.question)
            return len(self.logged)

    def record_feedback(self, answer_id: int, vote: int, user_id: str | None = None) -> None:
        self.votes.append((answer_id, vote, user_id))

    def close(self) -> None:
        pass


def kb_answerer(desk: Any) -> KnowledgeAnswerer:
    return KnowledgeAnswerer(desk, max_new_tokens=64, model_name="scripted")


def test_grounded_answers_show_sources_and_store_feedback(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Frames are covered for 5 years."
    desk = FakeDesk()
    run_bot(workspace, scripted_engine, answerer=kb_answerer(desk))
    ts = workspace.mention("ada", "support", "how long is the frame warranty?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert (
        answer_text(workspace, "support", ts)
        == "Here's what our help articles say:\n> Frames are covered for 5 years."
    )
    context = next(b for b in reply["blocks"] if b["type"] == "context")
    assert (
        context["elements"][0]["text"]
        == "Sources: <https://help.example.com/warranty|Frame warranty>"
    )
    assert find_element(reply, "deskhand_handoff") is None
    click_feedback(workspace, "grace", "support", reply, "negative")
    workspace.wait_for(lambda: desk.votes or None, timeout=10)
    assert desk.votes == [(1, -1, workspace.user_id("grace"))]
    workspace.wait_for(lambda: workspace.ephemerals("grace", "support") or None, timeout=10)
    # The KB composes its reply after generation: drafts go by chat.update, not a stream.
    assert workspace.calls("chat.startStream") == []


def test_a_kb_answer_shows_a_status_until_it_is_final_then_is_posted_once(
    workspace, run_bot, script, scripted_engine
):
    # The model starts by echoing its instructions; the desk drops that for a fixed lead-in.
    script.answer = lambda turns: "You're a customer support assistant. Frames: 5 years."
    script.step_delay_s = 0.02  # about a second of writing
    desk = DroppingDesk()
    run_bot(workspace, scripted_engine, answerer=kb_answerer(desk), stream_update_interval_s=0.2)
    ts = workspace.mention("ada", "support", "how long is the frame warranty?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    final = "Here's what our help articles say:\n> Frames are covered for 5 years."
    assert answer_text(workspace, "support", ts) == final
    assert "is thinking…" in [
        c.args.get("status") for c in workspace.calls("assistant.threads.setStatus")
    ]  # a status while the model wrote
    written = [
        str(c.args.get("text", "")) + str(c.args.get("blocks", "")) + str(c.args.get("chunks", ""))
        for c in workspace.calls()
        if c.method.startswith("chat.")
    ]
    assert not any("customer support assistant" in w for w in written)  # never on screen
    assert workspace.calls("chat.update") == []  # posted once: no "(edited)"
    assert [c.response["ts"] for c in workspace.calls("chat.postMessage")] == [reply["ts"]]


class DroppingDesk(FakeDesk):
    """Like the real desk on a bad lead-in: the model's words replaced by the fixed one."""

    def finalize(self, plan: AnswerPlan, generated_text: str) -> FinalAnswer:
        body = "Here's what our help articles say:\n> Frames are covered for 5 years."
        return FinalAnswer(body, body, [WARRANTY], False, False, "answer", False)


def test_an_abstained_answer_offers_a_human_who_gets_the_question(
    workspace, run_bot, scripted_engine
):
    desk = FakeDesk()
    run_bot(
        workspace,
        scripted_engine,
        answerer=kb_answerer(desk),
        escalation_channel=workspace.channel_id("general"),
        handoff_mention="<!subteam^S0SUPPORT|@support>",
    )
    ts = workspace.mention("ada", "support", "what is the meaning of life?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert shown_text(reply) == "Sorry, I couldn't find that in our help articles."
    assert find_element(reply, "deskhand_feedback") is None  # nothing to rate
    button = find_element(reply, "deskhand_handoff")
    workspace.click("ada", "support", reply["ts"], "deskhand_handoff", value=button["value"])
    escalation = wait_for_bot_message(workspace, "general")
    text = escalation["text"]
    assert text.startswith("<!subteam^S0SUPPORT|@support> *Question for a human*")
    assert f"<@{workspace.user_id('ada')}>" in text and "what is the meaning of life?" in text
    assert "/archives/" in text  # the thread's permalink
    workspace.wait_for(
        lambda: (
            any(
                "I've asked <!subteam^S0SUPPORT|@support>" in m["text"]
                for m in bot_replies(workspace, "support", ts)
            )
            or None
        ),
        timeout=10,
    )
    # A second click does not ask twice.
    workspace.click("grace", "support", reply["ts"], "deskhand_handoff", value=button["value"])
    workspace.wait_for(lambda: workspace.ephemerals("grace", "support") or None, timeout=10)
    assert len(bot_messages(workspace, "general")) == 1


def test_the_plain_answerer_acknowledges_feedback(workspace, run_bot, script, scripted_engine):
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "hello")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert find_element(reply, "deskhand_handoff") is None
    click_feedback(workspace, "ada", "support", reply)
    eph = workspace.wait_for(lambda: workspace.ephemerals("ada", "support") or None, timeout=10)
    assert eph[0]["text"] == "Thanks for the feedback!"


@pytest.mark.slow
def test_the_real_support_desk_answers_from_the_sample_kb(
    workspace, run_bot, script, scripted_engine, sample_kb
):
    script.answer = lambda turns: "Frames have a long warranty."
    settings = bot_settings(
        workspace,
        **sample_kb,
    )
    answerer = open_answerer(settings.bot_config(), scripted_engine)
    assert answerer.name == "kb"
    run_bot(workspace, scripted_engine, answerer=answerer)
    ts = workspace.mention("ada", "support", "How long is the warranty on an e-bike frame?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert "Pebblewren E5 frame" in answer_text(workspace, "support", ts)
    assert "Sources: Gorsebeck Cycles Warranty" in str(reply["blocks"])
    click_feedback(workspace, "ada", "support", reply)
    stored = workspace.wait_for(
        lambda: (answerer.desk.feedback.answer(1) or {}).get("votes") or None, timeout=10
    )
    assert stored == [{"user": workspace.user_id("ada"), "vote": 1}]


def test_ask_a_human_from_a_direct_message(workspace, run_bot, scripted_engine):
    run_bot(
        workspace, scripted_engine, answerer=kb_answerer(FakeDesk()), escalation_channel="#general"
    )
    dm = workspace.dm_channel("linus")
    question = workspace.dm("linus", "who won the cup final?")
    reply = workspace.wait_for_reply(dm, None, timeout=20)
    button = find_element(reply, "deskhand_handoff")
    assert button["value"] == question
    workspace.click("linus", dm, reply["ts"], "deskhand_handoff", value=button["value"])
    escalation = wait_for_bot_message(workspace, "general")
    assert "who won the cup final?" in escalation["text"]
    assert escalation["text"].startswith("*Question for a human*")  # no mention configured
    workspace.wait_for(
        lambda: any("I've asked a colleague" in m["text"] for m in workspace.messages(dm)) or None,
        timeout=10,
    )
