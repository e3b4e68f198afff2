"""The answer footer's context line stays within Slack's limit without cutting a `<url|title>`
link or an `&amp;` entity in half."""

from __future__ import annotations

import re

from bot.slack.blocks import MAX_CONTEXT_TEXT, context_text, fit_escaped
from bot.types import Source

LINK_RE = re.compile(r"<https://[^<>|]+\|[^<>]*>")


def well_formed(text: str) -> bool:
    without_links = LINK_RE.sub("", text)
    entities_ok = all(
        text.startswith(("&amp;", "&lt;", "&gt;"), i) for i, c in enumerate(text) if c == "&"
    )
    return "<" not in without_links and ">" not in without_links and entities_ok


def test_many_long_sources_are_counted_not_cut() -> None:
    sources = [
        Source(f"Article {i} & <friends>", f"https://help.example.com/{'a' * 200}/{i}")
        for i in range(40)
    ]
    text = context_text(sources, ["Stopped.", "Trimmed: 12 earlier messages left out"])
    assert len(text) <= MAX_CONTEXT_TEXT and well_formed(text)
    shown = LINK_RE.findall(text)
    assert 0 < len(shown) < 40 and text.count(f"(+{40 - len(shown)} more)") == 1
    assert text.endswith(" · Stopped. · Trimmed: 12 earlier messages left out")


def test_a_cut_never_lands_inside_an_entity_at_any_length() -> None:
    title = "R&D <notes> " * 600
    for size in range(1, 400, 7):
        shortened = fit_escaped(title, size)
        assert len(shortened) <= size and well_formed(shortened.removesuffix("…"))
    text = context_text([Source(title, "https://help.example.com/rd")], ["&" * 1000])
    assert len(text) <= MAX_CONTEXT_TEXT and well_formed(text.replace("…", ""))
    assert text.startswith("Sources: R&amp;D &lt;notes&gt;")  # the title alone, shortened


def test_a_short_footer_is_unchanged() -> None:
    text = context_text([Source("Warranty", "https://help.example.com/w"), Source("Care")], [])
    assert text == "Sources: <https://help.example.com/w|Warranty>, Care"
    assert context_text([], []) == ""
