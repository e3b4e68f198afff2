"""Turning a plan and the model's text into the reply the user sees.

Owns the grounding post-check of the model's lead-in (one with a number or code the passages
do not contain, in the wrong language, or too long is dropped for a fixed lead-in), the
verbatim quotes that carry the answer, the don't-know / hedge / hand-off replies, and the
sources line. With KB_ANSWER_STYLE=abstractive it composes the cited answer from the
sentences kb.abstractive kept, or falls back to quotes when none survived.
"""

from __future__ import annotations

import re

from kb.abstractive import checked_sentences, cited_passages, render_cited
from kb.entail import entailed
from kb.prompt import says_dont_know, template
from kb.text import cjk_ratio, is_code, tokens, ungrounded_facts
from kb.types import AnswerPlan, FinalAnswer, Passage, Source

MAX_LEAD_IN_CHARS = 240
META_WORDS = frozenset({"answer", "correct", "question", "fact", "help", "article"})
_PROMPT_ECHO = re.compile(r"\b(?:question|facts?|answer|q|a)\s*:", re.I)
_POLARITY = re.compile(r"\b(?:not|no|never|cannot|yes|none)\b|n't|不|没|无|否")
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_LIST_MARK = re.compile(r"^(?:[-*•>]|\d+[.)])\s+")
_FACT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,:-]*")  # candidate numbers and codes, in place


def render_sources(sources: list[Source], lang: str = "en") -> str:
    """One short Markdown line: 'Sources: [Title › Section](url#section), Other title', the
    section being the one the first quote of that document came from. Empty without
    sources."""
    seen: dict[str, Source] = {}
    for s in sources:
        seen.setdefault(s.doc, s)
    if not seen:
        return ""
    labels = {d: f"{s.title} › {s.section}" if s.section else s.title for d, s in seen.items()}
    items = [f"[{labels[d]}]({s.url})" if s.url else labels[d] for d, s in seen.items()]
    sep = "、" if lang == "zh" else ", "
    colon = "：" if lang == "zh" else ": "
    return f"_{template(lang, 'sources')}{colon}{sep.join(items)}_"


def numbered_sources(passages: list[Passage], lang: str = "en") -> str:
    """'Sources: [1] [Title](url), [2] Other title': the numbers the citations use."""
    items = [
        f"[{n}] [{p.title}]({p.url})" if p.url else f"[{n}] {p.title}"
        for n, p in enumerate(passages, 1)
    ]
    sep = "、" if lang == "zh" else ", "
    colon = "：" if lang == "zh" else ": "
    return f"_{template(lang, 'sources')}{colon}{sep.join(items)}_"


def quote_block(text: str) -> str:
    """A verbatim unit as Markdown: each line of a procedure a `>` line; a code block as a
    fenced block with its line breaks (never joined into one line)."""
    if is_code(text):
        return text
    return "\n".join(f"> {' '.join(line.split())}" for line in text.splitlines() if line.strip())


def handoff_line(lang: str, mention: str) -> str:
    return (
        template(lang, "handoff_mention").format(mention=mention)
        if mention
        else template(lang, "handoff")
    )


def finalize_answer(plan: AnswerPlan, generated: str, *, handoff_mention: str = "") -> FinalAnswer:
    """Compose the reply for `plan` from the model's `generated` text (may be empty)."""
    lang = plan.lang
    if plan.tier == "abstain" or not plan.quotes:
        body = f"{template(lang, 'dont_know')} {handoff_line(lang, handoff_mention)}"
        return FinalAnswer(body, body, [], True, True, "abstain", False)
    sources = _dedupe([q.passage.source for q in plan.quotes])
    quoted = "\n".join(quote_block(q.text) for q in plan.quotes)
    if plan.tier == "hedge":
        # A blank line ends the quote: a line right after `>` lines is drawn inside the quote.
        body = f"{template(lang, 'hedge')}\n{quoted}\n\n{handoff_line(lang, handoff_mention)}"
        return _with_sources(body, sources, lang, abstained=True, handoff=True, tier="hedge")
    if plan.style == "abstractive":
        kept, dropped = checked_sentences(generated, plan, final=True)
        if kept:  # the model's own words, every sentence checked; else quotes below
            cited = cited_passages(plan.quotes, plan.passages)
            line = numbered_sources(cited, lang)
            body = render_cited(kept, plan)
            return FinalAnswer(
                f"{body}\n{line}",
                body,
                _dedupe([p.source for p in cited]),
                False,
                False,
                "answer",
                True,
                dropped,
            )
        generated = ""
    lead, rejected = grounded_lead_in(generated, plan)
    body = f"{lead or template(lang, 'lead_in')}\n{quoted}"
    return _with_sources(
        body,
        sources,
        lang,
        abstained=False,
        handoff=False,
        tier="answer",
        model_text_used=bool(lead),
        rejected=rejected,
    )


def draft_lead_in(generated: str, plan: AnswerPlan) -> str:
    """What of the model's lead-in may be shown while it is still being written.

    Its first sentence so far, cut before the first number or code the quotes do not
    contain (and nothing at all once it says it doesn't know or echoes the prompt), so an
    invented value never reaches the screen even for a moment. The finished text still
    goes through grounded_lead_in(), which may replace the draft."""
    if plan.style == "abstractive":
        return render_cited(checked_sentences(generated, plan, final=False)[0], plan)
    text = _CITATION.sub("", generated or "").lstrip().lstrip('"')
    first = _SENTENCE.split(text, maxsplit=1)[0]
    if says_dont_know(first) or _PROMPT_ECHO.search(first):
        return ""
    quoted = " ".join(q.text for q in plan.quotes)
    for match in _FACT.finditer(first):
        if ungrounded_facts(match.group(), quoted):
            return first[: match.start()].rstrip()
    return first[:MAX_LEAD_IN_CHARS]


def grounded_lead_in(generated: str, plan: AnswerPlan) -> tuple[str, list[str]]:
    """The model's first sentence if it only restates the quotes, else ''. Also returns the
    invented numbers/codes when those caused the rejection.

    A lead-in is kept when: it is one complete sentence in the user's language; every
    number and code in it is in the quotes; every content word is in the quotes or the
    question, and at most a third of them (one, in a short sentence) only in the question, so
    a question cannot dictate the lead-in; it adds at least one word from the quotes; and any
    negation or yes/no in it is backed by the quotes. A small model's paraphrase fails one of
    these far more often than it passes, and then the quotes speak for themselves under a
    fixed lead-in. Last, it must be entailed by one quote (kb.entail: its words in that
    quote's order, with that quote's modal and negation words), so a sentence assembled from
    the quotes' words into a new claim is replaced too."""
    text = _CITATION.sub("", generated or "").strip().strip('"').strip()
    text = _LIST_MARK.sub("", text)  # "- The user who..." copied from a list: the sentence
    if not text or says_dont_know(text):
        return "", []
    first = _SENTENCE.split(" ".join(text.split()))[0]
    complete = first.endswith((".", "!", "?", "。", "！", "？")) or len(first) < len(text)
    if not complete or len(first) > MAX_LEAD_IN_CHARS or _PROMPT_ECHO.search(first):
        return "", []
    if (plan.lang == "zh") != (cjk_ratio(first) > 0.3):
        return "", []
    quoted = " ".join(q.text for q in plan.quotes)
    invented = sorted(ungrounded_facts(first, quoted))
    if invented:
        return "", invented
    words = set(tokens(first, drop_stopwords=True)) - META_WORDS
    in_quotes = set(tokens(quoted))
    in_question = set(tokens(plan.standalone_question))
    if not words or not words <= in_quotes | in_question or not words & (in_quotes - in_question):
        return "", []
    if len(words - in_quotes) > max(1, len(words) // 3):  # mostly the asker's own wording
        return "", []
    polarity = {w for w in _POLARITY.findall(first.lower())}
    if not polarity <= set(_POLARITY.findall(quoted.lower())):
        return "", []
    context = [f"{q.passage.title}. {q.passage.heading}." for q in plan.quotes]
    if not entailed(first, [q.text for q in plan.quotes], plan.standalone_question, context):
        return "", []  # its words are the quotes', its claim is not (see kb.entail)
    return first, []


def _with_sources(
    body: str,
    sources: list[Source],
    lang: str,
    *,
    abstained: bool,
    handoff: bool,
    tier: str,
    model_text_used: bool = False,
    rejected: list[str] | None = None,
) -> FinalAnswer:
    line = render_sources(sources, lang)
    text = f"{body}\n{line}" if line else body
    return FinalAnswer(
        text,
        body,
        sources,
        abstained,
        handoff,
        tier,  # type: ignore[arg-type]
        model_text_used,
        rejected or [],
    )


def _dedupe(sources: list[Source]) -> list[Source]:
    return list({s.doc: s for s in sources}.values())
