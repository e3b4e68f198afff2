"""KB_ANSWER_STYLE=abstractive: the model's cited sentences, each checked against the passage
it cites; quotes when none survive; the streamed draft shows checked sentences only."""

from __future__ import annotations

from dataclasses import replace

from kb.abstractive import checked_sentences, cited_passages
from kb.desk import SupportDesk
from kb.types import AnswerPlan

QUESTION = "how much is next day delivery to ireland"


def abstractive_plan(desk: SupportDesk) -> AnswerPlan:
    saved = desk.settings
    desk.settings = replace(saved, kb_answer_style="abstractive")
    try:
        plan = desk.prepare(QUESTION)
    finally:
        desk.settings = saved
    assert plan.tier == "answer" and plan.style == "abstractive"
    return plan


def test_the_prompt_numbers_the_passages(desk: SupportDesk) -> None:
    plan = abstractive_plan(desk)
    cited = cited_passages(plan.quotes, plan.passages)
    assert cited[0].doc == "shipping.md"
    prompt = plan.messages[-1]["content"]
    assert "[1] " in prompt and "cite" in plan.messages[0]["content"]
    assert QUESTION in prompt


def test_checked_sentences_keep_what_the_cited_passage_says(desk: SupportDesk) -> None:
    plan = abstractive_plan(desk)
    text = "Next day delivery to Ireland costs €15 [1]. It usually arrives by drone in 2 hours [1]."
    final = desk.finalize(plan, text)
    assert not final.abstained and final.model_text_used
    assert final.body.startswith("Next day delivery to Ireland costs €15 [")
    assert "2 hours" not in final.text and "drone" not in final.text
    assert final.rejected_facts == ["It usually arrives by drone in 2 hours [1]."]
    assert "Sources: [1] " in final.text


def test_names_and_citations_must_be_in_the_passages(desk: SupportDesk) -> None:
    plan = abstractive_plan(desk)
    kept, dropped = checked_sentences(
        "Delivery to Ireland costs €15 [9]. It ships with Amazon for €15 [1]. "
        "The answer is: €15 [1]. Ireland costs €15. Next day to Ireland is €15 [1].",
        plan,
        final=True,
    )
    assert kept == ["Next day to Ireland is €15 [1]."] and len(dropped) == 4


def test_no_checked_sentence_falls_back_to_quotes(desk: SupportDesk) -> None:
    plan = abstractive_plan(desk)
    final = desk.finalize(plan, "It costs €99 [1].")
    assert final.text.startswith("Here's what our help articles say:\n> ")
    assert "€15" in final.text and "€99" not in final.text and not final.model_text_used


def test_the_draft_shows_only_finished_checked_sentences(desk: SupportDesk) -> None:
    plan = abstractive_plan(desk)
    assert desk.draft(plan, "Next day delivery to Ireland costs €1") == ""  # unfinished
    assert desk.draft(plan, "It is €99 [1]. Next day") == ""  # invented, then unfinished
    shown = desk.draft(plan, "Next day delivery to Ireland costs €15 [1]. And")
    assert shown.startswith("Next day delivery to Ireland costs €15 [")
