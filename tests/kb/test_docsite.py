"""Documentation sites as they are: front matter, admonitions, template macros, MDX, code
fences, procedures quoted whole, section links; and the checks that keep replies honest
(lead-in entailment, the question focus, typo-proof name check, eval's new fields)."""

from __future__ import annotations

from pathlib import Path

from kb.answer import finalize_answer, quote_block, render_sources
from kb.checks import near_word, unknown_names
from kb.desk import SupportDesk
from kb.documents import clean_markdown, parse_document
from kb.entail import entailed
from kb.evaluate import ItemResult, summarize
from kb.evidence import candidate_passages
from kb.focus import question_focus
from kb.retrieval import Hit
from kb.store import StoredPassage
from kb.text import passage_units, split_units
from kb.types import Passage, Source

from .conftest import make_settings

DOC = """---
title: Notification settings
url: https://docs.example/notifications
sidebar_position: 3
---
import Tabs from '@theme/Tabs';

# Notifications

Example Chat can play a sound and show a popup for each new message.

:::info Good to know
Choosing **None** as the sound turns every sound off.
:::

## Notification sound

{start_tabs}

{tab|desktop}

{settings_tab|notifications}

1. Under **Desktop message notifications**, open the **Notification sound** menu.

1. Choose **None** to silence it, or pick another sound.

{end_tabs}

!!! tip ""
    Click the <i class="fa fa-play"></i> icon to hear the [sound](/help/sounds).

{!sounds-admin-only.md!}

## Send a test from the API

<Tabs>
<TabItem value="py" label="Python">

```python
import chat
client = chat.Client()
client.notify("test")
```

</TabItem>
</Tabs>
"""


def test_docsite_markdown_is_read_as_rendered() -> None:
    doc = parse_document("notifications.mdx.md", DOC.encode())
    assert doc.title == "Notification settings" and doc.url == "https://docs.example/notifications"
    text = "\n".join(c.text for c in doc.chunks)
    for furniture in ("{", "}", ":::", "!!!", "<i", "import Tabs", "<Tabs", "TabItem", "/help/"):
        assert furniture not in text, furniture
    assert "**Good to know**" in text and "Choosing **None** as the sound" in text
    assert "Click the icon to hear the sound." in text  # icon gone, relative link unwrapped
    steps = next(c for c in doc.chunks if c.heading == "Notification sound").text
    assert "**Desktop**" in steps  # a tab's name stays as a label
    assert "1. Under **Desktop message notifications**" in steps and "\n2. Choose **None**" in steps


def test_code_fences_stay_whole_and_are_quoted_as_code() -> None:
    doc = parse_document("n.md", DOC.encode())
    code_chunk = next(c for c in doc.chunks if "client.notify" in c.text)
    assert '```python\nimport chat\nclient = chat.Client()\nclient.notify("test")\n```' in (
        code_chunk.text
    )
    units = passage_units(code_chunk.text)
    code = [u for u in units if u.kind == "code"]
    assert len(code) == 1 and code[0].text.count("\n") == 4
    shown = quote_block(code[0].text)
    assert shown == code[0].text and "import chat client" not in shown  # never one line
    assert quote_block("1. Open it.\n2. Close it.") == "> 1. Open it.\n> 2. Close it."


def test_macros_inside_code_are_left_alone() -> None:
    body = "Use `{code}` in the template.\n\n```\n{start_tabs}\n```\n"
    assert clean_markdown(body) == body


def test_mkdocs_admonition_body_is_text_not_code() -> None:
    cleaned = clean_markdown('!!! warn "Careful"\n    Deleting is final.\n\nAfter.\n')
    doc = parse_document("a.md", f"# A\n\n{cleaned}".encode())
    assert doc.chunks[0].text == "**Careful**\nDeleting is final.\nAfter."


def test_procedure_units_know_their_list() -> None:
    units = passage_units("Intro.\n1. One.\n2. Two.\n- a bullet\n1. Again.")
    assert [(u.kind, u.block, u.marker) for u in units] == [
        ("sentence", 0, ""),
        ("step", 1, "1."),
        ("step", 1, "2."),
        ("item", 2, ""),
        ("step", 3, "1."),
    ]
    assert split_units("1. One.\n2. Two.") == ["One.", "Two."]


def test_sources_link_the_section(tmp_path: Path) -> None:
    p = Passage(
        1,
        "n.md",
        "default",
        "Notification settings",
        "Notification sound",
        "https://docs.example/notifications",
        "x",
        0.1,
        0.5,
        1.0,
    )
    assert p.source == Source(
        "Notification settings",
        "https://docs.example/notifications#notification-sound",
        "n.md",
        "Notification sound",
    )
    assert render_sources([p.source]) == (
        "_Sources: [Notification settings › Notification sound]"
        "(https://docs.example/notifications#notification-sound)_"
    )


def test_a_docsite_how_to_is_answered_with_its_steps(tmp_path: Path, embedder) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "notifications.md").write_text(DOC)
    (kb / "billing.md").write_text("# Billing\n\nInvoices are sent on the first of the month.\n")
    desk = SupportDesk.open(make_settings(tmp_path), None, kb_dir=kb, embedder=embedder)
    try:
        plan = desk.prepare("how do i turn off the notification sound?")
        final = finalize_answer(plan, "")
    finally:
        desk.close()
    assert plan.tier == "answer", plan.notes
    assert "> 1. Under **Desktop message notifications**" in final.text
    assert "> 2. Choose **None**" in final.text
    assert "{" not in final.text and "couldn't find" not in final.text
    assert "#notification-sound" in final.text


def test_lead_in_must_be_entailed_by_one_quote() -> None:
    quote = ["To confirm it is you, we run an identity check when you change the 2FA code."]
    assert not entailed("You need to get a new phone with a 2FA code.", quote)
    assert entailed("We run an identity check when you change the 2FA code.", quote)
    oven = ["Ovens used at a bakery are covered by a warranty claim made on our website."]
    assert not entailed(
        "You need a warranty claim for the oven at a bakery, not on your website.", oven
    )  # "need" and "not" are not in the quote
    assert entailed("The cartridge costs £34.99.", ["A cartridge costs £34.99."])


def test_the_question_is_found_after_the_story() -> None:
    msg = (
        "hey so my manager left last week and i need to remove him. "
        "if i do that, does it also log him out of the app on his phone?"
    )
    assert question_focus(msg) == "if i do that, does it also log him out of the app on his phone?"
    assert question_focus("how do i reset my password?") is None


def test_typos_addresses_and_contractions_are_not_unknown_names() -> None:
    vocab = {"permission", "search", "upload", "screen", "sharing"}
    in_kb = vocab.__contains__
    assert near_word("permision", vocab) and near_word("uplaod", vocab)
    assert not near_word("homekit", vocab)
    words = {"screen", "sharing", "mail", "while"}
    assert unknown_names(
        "i havent got permision, mail me at bob@acme-corp.com while screensharing on homekit",
        in_kb,
        words.__contains__,
        lambda w: near_word(w, vocab),
    ) == ["homekit"]
    words |= {"charge", "mute"}  # a prefix on an ordinary word is no name
    assert unknown_names(
        "can i recharge it or unmute him on homekit?", in_kb, words.__contains__
    ) == ["homekit"]


def test_eval_counts_false_refusals_and_lead_ins() -> None:
    def item(kind: str, answerable: bool, correct: bool, refused: bool, lead: str) -> ItemResult:
        return ItemResult(
            "x",
            kind,
            "en",
            answerable,
            ["a.md"],
            answerable or None,
            answerable or None,
            correct,
            "answer",
            lead == "kept",
            1.0,
            "",
            "kb",
            refused,
            lead,
        )

    s = summarize(
        [
            item("single", True, True, False, "kept"),
            item("paraphrase", True, False, True, "-"),
            item("paraphrase", True, True, False, "replaced"),
            item("unanswerable", False, True, True, "-"),
        ]
    )
    assert s["false_refusals"] == 0.333 and s["false_refusals_n"] == 1
    assert s["lead_in"] == {"kept": 1, "replaced": 1}
    assert s["by_kind"]["paraphrase"]["false_refusals"] == 0.5


def test_the_procedure_follows_the_quoted_sentence_in_its_own_section(embedder) -> None:
    """The steps under the sentence that names the feature, not the list MiniLM finds closer
    elsewhere in the article (it picks "Insert code formatting" here without the rule)."""
    from kb.evidence import Evidence, with_procedure
    from kb.retrieval import Hit
    from kb.store import StoredPassage
    from kb.text import passage_units as units_of

    insert = StoredPassage(
        1,
        "code.md",
        "default",
        "Code blocks",
        None,
        "Insert code formatting",
        "1. Select the text you want to format.\n"
        "2. Click the **Code** icon at the bottom of the compose box to insert code formatting.",
    )
    default = StoredPassage(
        2,
        "code.md",
        "default",
        "Code blocks",
        None,
        "Default code block language",
        "Admins can set a default language for code blocks, used when a code block has no tag.\n"
        "1. Go to **Settings**.\n"
        "2. Under **Message feed settings**, edit **Default language for code blocks**.",
    )
    question = (
        "our team pastes python snippets all day. can we make python the default "
        "coloring so ppl dont have to tag every snippet?"
    )
    sentence = units_of(default.text)[0]
    best = Evidence(sentence.text, Hit(default, 1.0, 0.6, 1.0), 0.7, 0.6, 0.5, sentence)
    got = with_procedure(question, [best], [insert, default], embedder)
    assert [e.text for e in got] == [
        sentence.text,
        "1. Go to **Settings**.\n"
        "2. Under **Message feed settings**, edit **Default language for code blocks**.",
    ]


def test_evidence_candidates_add_the_top_articles_lower_ranked_sections() -> None:
    def hit(pid: int, doc: str, rank: int) -> Hit:
        passage = StoredPassage(pid, doc, "default", doc, None, f"section {pid}", "text")
        return Hit(passage, 1.0 - rank / 20, 0.6, 3.0)

    docs = ["delete.md", "limits.md", "limits.md", "drafts.md", "limits.md", "delete.md",
            "drafts.md", "delete.md"] + ["other.md"] * 4 + ["delete.md"]  # fmt: skip
    hits = [hit(n + 1, doc, n) for n, doc in enumerate(docs)]
    candidates = candidate_passages(hits)
    # the first four, then the first article's sections ranked 6th and 8th (not 13th)
    assert [h.passage.id for h in candidates] == [1, 2, 3, 4, 6, 8]
    assert candidates[4] is hits[5]  # at the score retrieval gave it
    assert candidate_passages([]) == []
