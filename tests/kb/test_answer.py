"""Composing replies: grounded lead-ins, quotes, hedges, don't-knows and sources."""

from kb.answer import finalize_answer, grounded_lead_in, render_sources
from kb.evaluate import is_dont_know
from kb.types import AnswerPlan, Passage, Quote, Source, Tier

PASSAGE = Passage(
    1,
    "purifier.md",
    "default",
    "Skylark P2 Filters",
    "Filters",
    "https://help.example/filters",
    "- Replace the cartridge every 9 months.\nA cartridge costs £34.99.",
    0.03,
    0.6,
    4.0,
)
QUOTE = Quote("A cartridge costs £34.99.", PASSAGE, 0.9)


def _plan(
    tier: Tier = "answer", lang: str = "en", question: str = "price of a cartridge?"
) -> AnswerPlan:
    return AnswerPlan(
        question,
        question,
        lang,
        None,
        [PASSAGE],
        [QUOTE],
        0.9,
        tier,
        [{"role": "user", "content": question}] if tier == "answer" else [],
        [PASSAGE.source],
        0.01,
    )


def test_render_sources_links_titles_with_urls_and_dedupes() -> None:
    sources = [
        Source("Filters", "https://h.example/f", "f.md"),
        Source("Returns", None, "r.txt"),
        Source("Filters", "https://h.example/f", "f.md"),
    ]
    assert render_sources(sources) == "_Sources: [Filters](https://h.example/f), Returns_"
    assert render_sources(sources, "zh") == "_来源：[Filters](https://h.example/f)、Returns_"
    assert render_sources([]) == ""


def test_grounded_answer_quotes_the_passage_and_ends_with_sources() -> None:
    final = finalize_answer(_plan(), "The cartridge costs £34.99.")
    assert final.text.splitlines() == [
        "The cartridge costs £34.99.",
        "> A cartridge costs £34.99.",
        "_Sources: [Skylark P2 Filters › Filters](https://help.example/filters#filters)_",
    ]
    assert final.model_text_used and not final.abstained and not final.handoff
    assert final.sources == [PASSAGE.source]


def test_invented_number_drops_the_lead_in_but_keeps_the_quote() -> None:
    final = finalize_answer(_plan(), "A cartridge costs £29.99.")
    assert final.body.startswith("Here's what our help articles say:\n> A cartridge costs £34.99.")
    assert final.rejected_facts == ["29.99"] and not final.model_text_used


def test_lead_in_must_restate_the_quotes() -> None:
    plan = _plan()
    assert grounded_lead_in("Cartridges are cheap and last forever.", plan) == ("", [])
    assert grounded_lead_in("No, a cartridge costs £34.99.", plan) == ("", [])  # unbacked "no"
    assert grounded_lead_in("Question: price of a cartridge?", plan) == ("", [])
    assert grounded_lead_in("A cartridge costs", plan) == ("", [])  # cut off mid-sentence
    assert grounded_lead_in("A cartridge costs £34.99.", plan)[0] == "A cartridge costs £34.99."


def test_abstain_says_so_and_offers_a_human() -> None:
    final = finalize_answer(_plan("abstain"), "")
    assert final.abstained and final.handoff and final.sources == []
    assert is_dont_know(final.text) and "colleague" in final.text


def test_hedge_quotes_the_closest_passage_and_offers_a_human() -> None:
    final = finalize_answer(_plan("hedge"), "ignored", handoff_mention="<!subteam^S1>")
    assert final.abstained and final.handoff and is_dont_know(final.text)
    assert "> A cartridge costs £34.99." in final.text and "<!subteam^S1>" in final.text


def test_chinese_question_gets_chinese_templates() -> None:
    final = finalize_answer(_plan("abstain", "zh", "滤芯多少钱？"), "")
    assert final.text == "抱歉，我在帮助文档中没有找到相关信息。 需要为您转接人工客服吗？"
    answered = finalize_answer(_plan("answer", "zh", "滤芯多少钱？"), "A cartridge costs £34.99.")
    assert answered.body.startswith("根据我们的帮助文档：")  # an English lead-in is not used
    assert answered.text.endswith(
        "_来源：[Skylark P2 Filters › Filters](https://help.example/filters#filters)_"
    )


def test_the_draft_lead_in_never_shows_an_invented_value() -> None:
    from kb.answer import draft_lead_in

    plan = _plan("answer")  # its quote: "A cartridge costs £34.99."
    assert draft_lead_in("A cartridge costs £3", plan) == "A cartridge costs £"  # half a price
    assert draft_lead_in("A cartridge costs £34.99", plan) == "A cartridge costs £34.99"
    assert draft_lead_in("A cartridge costs £39.99 each", plan) == "A cartridge costs £"
    assert draft_lead_in("It costs £34.99. Also 12 more", plan) == "It costs £34.99."
    assert draft_lead_in("I don't know", plan) == ""


def test_a_question_cannot_dictate_the_lead_in() -> None:
    plan = _plan(question="cartridge: scam rip-off, avoid buying, tell everyone?")
    steered = "Cartridge costs are a scam rip-off, avoid buying."
    assert grounded_lead_in(steered, plan) == ("", [])
    final = finalize_answer(plan, steered)
    assert "scam" not in final.text and "> A cartridge costs £34.99." in final.text
    # one word of the asker's wording next to the quotes' is still fine
    plan = _plan(question="what is the price of a cartridge?")
    assert grounded_lead_in("The cartridge price: it costs £34.99.", plan)[0]
