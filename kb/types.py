"""The knowledge base's public value types: what prepare() plans and finalize() returns.

Plain frozen dataclasses with no torch, SQLite or Slack in them, so the bot can import them
cheaply and tests can build them by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Tier = Literal["answer", "hedge", "abstain"]


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str | None  # with the section's #anchor when the passage sits under a heading
    doc: str  # path relative to the knowledge-base root
    section: str = ""  # the heading path under the title ("Prices › Refunds"), if any


@dataclass(frozen=True, slots=True)
class Passage:
    id: int
    doc: str
    kb_set: str
    title: str
    heading: str
    url: str | None
    text: str
    score: float  # fused retrieval score (RRF)
    dense: float  # cosine with the standalone question
    lexical: float  # bm25, 0 when no term matched

    @property
    def source(self) -> Source:
        """The document, pointing at this passage's section: `url#anchor` (the anchor a
        documentation site gives the heading: lowercase, punctuation dropped, spaces as
        hyphens) when the document has a url."""
        if not self.heading or self.heading == self.title:
            return Source(self.title, self.url, self.doc)
        url = f"{self.url.split('#')[0]}#{anchor(self.heading)}" if self.url else None
        return Source(self.title, url, self.doc, self.heading)


@dataclass(frozen=True, slots=True)
class Quote:
    """A verbatim unit of a passage chosen as evidence for the answer."""

    text: str
    passage: Passage
    score: float


@dataclass(frozen=True, slots=True)
class AnswerPlan:
    """Everything decided before generation. `messages` is empty when no generation is needed
    (the plan abstains or hedges); the caller then passes "" to finalize()."""

    question: str
    standalone_question: str
    lang: str  # "en" | "zh": the language of the question and of the reply
    kb_sets: frozenset[str] | None  # None: every knowledge set
    passages: list[Passage]
    quotes: list[Quote]
    confidence: float
    tier: Tier
    messages: list[dict[str, str]]
    sources: list[Source]
    retrieval_s: float
    notes: tuple[str, ...] = ()  # why the tier is lower than the score alone suggests
    style: str = "quotes"  # "quotes" | "abstractive" (KB_ANSWER_STYLE) for an answer

    @property
    def abstain(self) -> bool:
        return self.tier == "abstain"

    @property
    def needs_generation(self) -> bool:
        return bool(self.messages)


@dataclass(frozen=True, slots=True)
class FinalAnswer:
    text: str  # Markdown shown to the user: body, then the sources line when grounded
    body: str  # the same without the sources line (for a separate context block)
    sources: list[Source]
    abstained: bool  # no confident answer: a don't-know (possibly with the closest passage)
    handoff: bool  # a human should be offered (mention or "Ask a human" button)
    tier: Tier
    model_text_used: bool  # the model's lead-in passed the grounding checks and is shown
    rejected_facts: list[str] = field(default_factory=list)  # invented numbers/codes dropped


def anchor(heading_path: str) -> str:
    """The #fragment of a heading on a documentation site (GitHub, Docusaurus and MkDocs
    slugs agree on plain headings): the last heading of the path, lowercased, punctuation
    dropped, spaces and hyphen runs as one hyphen."""
    last = heading_path.split(" › ")[-1].strip().lower()
    slug = re.sub(r"[^\w\s-]", "", last)
    return re.sub(r"[\s-]+", "-", slug).strip("-")
