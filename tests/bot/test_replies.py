"""Replies that read right (issue #17), through the real path: the bot on Bolt against the
emulator, the engine's real scheduler with a scripted model. The hand-off question stands
outside the quote; nothing is shown that the final answer drops; the model sees roles, not
"Name: text" lines; a follow-up sees the earlier answer and is kept from copying it; an answer
cut by the token limit ends at a sentence and can be continued; a long paste is measured in
tokens, its middle left out with a note, and refused with the reason only beyond that."""

from __future__ import annotations

import re
from typing import Any

from bot import errors
from bot.answer.answerers import CONTINUE_PROMPT, CUT_SHORT, KnowledgeAnswerer, settled_answer
from bot.answer.conversation import strip_name_echo
from kb.answer import finalize_answer
from kb.types import AnswerPlan, FinalAnswer, Passage, Quote, Source
from slackemu.markdown import render
from tests.bot.helpers import answer_text, answers, bot_replies, find_element, shown_text
from tests.bot.test_knowledge import FakeDesk


def chat_writes(sb: Any) -> list[str]:
    """Everything the bot sent to be shown in a message (posts, edits, stream chunks)."""
    out = []
    for call in sb.calls():
        if call.method in ("chat.postMessage", "chat.update"):
            out.append(shown_text(call.args))
        elif call.method in STREAM_METHODS:
            out.append(stream_text(call.args))
    return out


STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")


def stream_text(args: dict[str, Any]) -> str:
    """The Markdown a stream call adds (markdown_text, or markdown_text chunks)."""
    chunks = args.get("chunks") or []
    chunked = "".join(c.get("text", "") for c in chunks if c.get("type") == "markdown_text")
    return str(args.get("markdown_text") or "") + chunked


def html_of(markdown: str) -> str:
    return render(markdown, entity=lambda body: body, emoji=lambda name: name)


# --- 1. the hand-off question is its own paragraph -----------------------------------------
class HedgingDesk(FakeDesk):
    """Composes a hedge with the real kb.answer.finalize_answer: quotes, then the hand-off."""

    def finalize(self, plan: AnswerPlan, generated_text: str) -> FinalAnswer:
        passage = Passage(1, "returns.md", "default", "Returns", "", None, "", 0.5, 0.5, 1.0)
        quotes = [
            Quote("Unopened helmets can be returned within 30 days.", passage, 0.5),
            Quote("Refunds reach your card within 4 working days.", passage, 0.4),
        ]
        hedge = AnswerPlan(
            plan.question,
            plan.question,
            "en",
            None,
            [passage],
            quotes,
            0.4,
            "hedge",
            [],
            [Source("Returns", None, "returns.md")],
            0.01,
        )
        return finalize_answer(hedge, "")


def test_the_hand_off_question_is_its_own_paragraph_outside_the_quote(
    workspace, run_bot, scripted_engine
):
    run_bot(
        workspace,
        scripted_engine,
        answerer=KnowledgeAnswerer(HedgingDesk(), max_new_tokens=64, model_name="scripted"),
        escalation_channel="#general",
    )
    ts = workspace.mention("ada", "support", "can I return an opened helmet bag?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    text = shown_text(reply)
    assert "> Refunds reach your card within 4 working days.\n\nShall I pass you" in text
    html = html_of(text)  # CommonMark, as Slack draws a markdown block
    quote = re.search(r"<blockquote>(.*?)</blockquote>", html, re.S)
    assert quote and "4 working days" in quote.group(1)
    assert "colleague" not in quote.group(1)  # not inside the quote bar
    assert "<p>Shall I pass you to a colleague?</p>" in html[quote.end() :]
    assert find_element(reply, "deskhand_handoff") is not None


# --- 2. drafts show nothing the final answer drops -----------------------------------------
def test_a_plain_answer_streams_only_what_the_final_answer_keeps(
    workspace, run_bot, script, scripted_engine
):
    words = "Ada: Sure, here is the plan. First we check the logs. Then we restart the"
    script.answer = lambda turns: words + " service and watch it"
    script.step_delay_s = 0.01
    run_bot(workspace, scripted_engine, max_new_tokens=len(words.encode()) + 4)
    ts = workspace.mention("ada", "support", "what now?")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    shown = answer_text(workspace, "support", ts)
    assert shown == "Sure, here is the plan. First we check the logs."  # the echo went
    streamed = "".join(stream_text(c.args) for c in workspace.calls() if c.method in STREAM_METHODS)
    assert len(workspace.calls("chat.appendStream")) >= 1  # it streamed as it went
    assert shown.startswith(streamed) and streamed.startswith("Sure")
    assert all("Ada:" not in w and "restart the" not in w for w in chat_writes(workspace))
    assert workspace.calls("chat.update") == []  # never edited
    assert payload_streaming(reply) is False


def payload_streaming(message: dict[str, Any]) -> bool:
    return bool(((message.get("metadata") or {}).get("event_payload") or {}).get("streaming"))


# --- 3. no "Name: text" the model could copy -----------------------------------------------
def test_the_model_sees_roles_and_a_name_echo_is_removed(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Ada: Try turning it off and on. It usually helps."
    run_bot(workspace, scripted_engine, thread_followups=False)  # Grace is not answered
    ts = workspace.mention("ada", "support", "my e-bike display is blank")
    workspace.wait_for_reply("support", ts, timeout=20)
    workspace.post_message("grace", "support", "mine too, since Monday", thread_ts=ts)
    follow = workspace.mention("ada", "support", "and if that fails?", thread_ts=ts)
    workspace.wait_for_reply("support", ts, timeout=20, after_ts=follow)
    first, second = script.prompts[0], script.prompts[-1]
    assert first[1:] == [("user", "my e-bike display is blank")]
    assert [role for role, _ in second[1:]] == ["user", "assistant", "user", "user"]
    assert second[1] == ("user", "my e-bike display is blank")  # the asker: no name at all
    assert second[2] == ("assistant", "Try turning it off and on. It usually helps.")
    assert second[3] == ("user", "[message from Grace]\nmine too, since Monday")
    assert second[4] == ("user", "and if that fails?")
    for _, content in second[1:]:
        assert not re.match(r"^\w+: ", content), content  # no "Name: text" line to copy
    for message in answers(workspace, "support", ts):
        assert not shown_text(message).startswith("Ada")


def test_a_name_echo_is_stripped_in_every_form_it_takes() -> None:
    names = ["Ada", "Grace"]
    assert strip_name_echo("Ada: hello", names) == "hello"
    assert strip_name_echo("**Ada:** hello", names) == "hello"
    assert strip_name_echo("Assistant: hi", names) == "hi"
    assert strip_name_echo("[message from Grace]\nhi", names) == "hi"
    assert strip_name_echo("Adam: hello", names) == "Adam: hello"  # not a name we gave it
    assert strip_name_echo("Note: the shop opens at 9.", names) == "Note: the shop opens at 9."


def test_what_streams_is_always_the_start_of_the_final_answer() -> None:
    names = ("Ada", "Grace")
    for written in [
        "\nAda: Hello. There it is. More",
        "  **Ada:** Hi. Yes. ok",
        "[message from Grace]\nHi. Yo. k",
        "Hello. Ada: x. y",
        "Adam: hi. there. x",
    ]:
        shown = ""
        for i in range(len(written) + 1):
            settled = settled_answer(written[:i], names)
            assert settled.startswith(shown), (written, i)
            shown = settled
        assert strip_name_echo(written, names).startswith(shown) and shown, written
        assert not shown.startswith(("Ada:", "[message", "**Ada", "\n"))


# --- 4. follow-ups see the earlier answer and do not repeat it -----------------------------
HAIKU = "Chain hums on the hill\nSpokes spin the morning to light\nThe road keeps its word"


def test_a_follow_up_sees_the_earlier_answer_and_is_kept_from_copying_it(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: HAIKU if len(turns) <= 2 else "Funnier: my chain fell off."
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "write a haiku about my bike")
    workspace.wait_for_reply("support", ts, timeout=20)
    follow = workspace.post_message("ada", "support", "make it funnier", thread_ts=ts)
    workspace.wait_for_reply("support", ts, timeout=20, after_ts=follow)
    prompt = script.prompts[-1]
    assert prompt[-2:] == [("assistant", HAIKU), ("user", "make it funnier")]
    assert script.params[0].avoid_text == ""  # nothing to avoid in a first answer
    assert script.params[-1].avoid_text == HAIKU  # the engine keeps it from copying this
    assert script.params[-1].repetition_penalty > 1.0


# --- 5. an answer cut by the token limit ends at a sentence ---------------------------------
def test_a_cut_answer_ends_at_a_sentence_says_so_and_continues_on_request(
    workspace, run_bot, script, scripted_engine
):
    long = "The frame is steel. The fork is carbon. The wheels are 28 inches wide and very"
    script.answer = lambda turns: (
        long + " light indeed." if turns[-1][1] != CONTINUE_PROMPT else "They weigh 900 g."
    )
    run_bot(workspace, scripted_engine, max_new_tokens=len(long.encode()))
    ts = workspace.mention("ada", "support", "describe the bike")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert answer_text(workspace, "support", ts) == "The frame is steel. The fork is carbon."
    assert CUT_SHORT in str(reply["blocks"])  # says so, and how to go on
    assert reply["metadata"]["event_payload"]["cut"] is True  # what "continue" looks for
    assert not any("28 inches" in w for w in chat_writes(workspace))  # never on screen
    follow = workspace.post_message("ada", "support", "continue", thread_ts=ts)
    second = workspace.wait_for_reply("support", ts, timeout=20, after_ts=follow)
    assert shown_text(second) == "They weigh 900 g."
    prompt = script.prompts[-1]
    assert prompt[-2:] == [
        ("assistant", "The frame is steel. The fork is carbon."),
        ("user", CONTINUE_PROMPT),
    ]
    assert script.params[-1].avoid_text == "The frame is steel. The fork is carbon."


def test_continue_after_a_whole_answer_is_an_ordinary_question(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "All done."
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "describe the bike")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert "cut" not in reply["metadata"]["event_payload"]
    assert CUT_SHORT not in str(reply["blocks"])
    follow = workspace.post_message("ada", "support", "continue", thread_ts=ts)
    workspace.wait_for_reply("support", ts, timeout=20, after_ts=follow)
    assert script.prompts[-1][-1] == ("user", "continue")


def test_a_cut_answer_in_a_code_block_closes_it(workspace, run_bot, script, scripted_engine):
    code = "Run this:\n```sh\nsystemctl restart deskhand\njournalctl -u desk"
    script.answer = lambda turns: code + "hand -f\n```\nDone."
    run_bot(workspace, scripted_engine, max_new_tokens=len(code.encode()))
    ts = workspace.mention("ada", "support", "how do I restart it?")
    workspace.wait_for_reply("support", ts, timeout=20)
    assert answer_text(workspace, "support", ts) == (
        "Run this:\n```sh\nsystemctl restart deskhand\n```"
    )


# --- 6. a long paste: measured in tokens, the middle left out, refused only beyond ----------
# The scripted model reads 32,768 tokens (one per UTF-8 byte); an answer may take half of them,
# which leaves about 16,200 for the question beside the system prompt.
ANSWER_BUDGET = 16_384


def order_log(lines: int) -> str:
    rows = [
        f"2026-12-07 10:{i // 60:02d}:{i % 60:02d} order {4000 + i} state=ok" for i in range(lines)
    ]
    return "\n".join(rows) + "\nWhy was order 4003 refunded twice?"


def test_a_paste_longer_than_the_room_is_read_with_its_middle_left_out(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "It was refunded once by hand."
    run_bot(workspace, scripted_engine, max_new_tokens=ANSWER_BUDGET)
    paste = order_log(450)  # ~20,000 characters, one token each: over the room, under twice it
    assert 17_000 < len(paste) < 22_000
    ts = workspace.mention("ada", "support", paste)
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert shown_text(reply) == "It was refunded once by hand."
    asked = script.prompts[-1][-1][1]
    assert asked.startswith("2026-12-07 10:00:00 order 4000")
    assert asked.endswith("Why was order 4003 refunded twice?")  # the question at the end
    mark = re.search(r"\n\n\[… ([\d,]+) characters left out here to fit …\]\n\n", asked)
    assert mark is not None
    left_out = int(mark.group(1).replace(",", ""))
    assert "The middle of your message" in str(reply["blocks"])
    assert f"{left_out:,} characters" in str(reply["blocks"])  # the note says how much
    assert len(asked) - len(mark.group(0)) == len(paste) - left_out


def test_a_paste_that_fits_is_read_whole(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: "Looks fine."
    run_bot(workspace, scripted_engine, max_new_tokens=ANSWER_BUDGET)
    paste = order_log(300)  # ~13,000 tokens: fits beside the system prompt and the answer
    assert len(paste) > 12_000
    ts = workspace.mention("ada", "support", paste)
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    assert script.prompts[-1][-1][1] == paste
    assert "left out" not in str(reply["blocks"])


def test_a_question_is_measured_in_tokens_and_refused_with_the_reason(
    workspace, run_bot, script, scripted_engine
):
    run_bot(workspace, scripted_engine, max_new_tokens=ANSWER_BUDGET)
    # 11,000 zero-width joiners: under the 40,000-character cap, but three tokens each here
    sneaky = "\u200d" * 11_000 + " what is this?"
    ts = workspace.mention("ada", "support", sneaky)
    notice = workspace.wait_for_reply("support", ts, timeout=20)
    text = shown_text(notice)
    assert text.startswith("That message is 33,0") and "tokens long" in text
    assert "I can leave out the middle of a message up to" in text
    assert "new thread" not in text and script.prompts == []  # no prompt, no engine error
    assert (notice.get("metadata") or {}).get("event_type") == "deskhand_notice"
    assert len(bot_replies(workspace, "support", ts)) == 1
    assert errors.GENERIC not in text


def test_the_kb_route_gets_a_question_that_leaves_room_for_the_excerpts(scripted_engine):
    class Desk(FakeDesk):
        engine = scripted_engine

    answerer = KnowledgeAnswerer(Desk(), max_new_tokens=64, model_name="scripted")
    paste = "x " * 20_000 + "warranty?"
    asked, trimmed = answerer.fit_question(paste)
    count = scripted_engine.count_tokens([{"role": "user", "content": asked}])
    assert trimmed > 0 and count <= scripted_engine.context_window // 2
    assert asked.endswith("warranty?") and asked.startswith("x x")
