"""The model's own words, grounded: an answer written from numbered passages, with citations.

Owns the cited prompt (numbered passages, "answer in the user's language, cite [n]") and the
sentence check applied both to what is streamed and to the final text: a sentence is kept
only when it cites a passage it was given, does not echo the prompt, and every number and
code in it, and every name it writes capitalised, appears in the passages it cites or in the
question, and it is entailed by one unit of those passages (kb.entail). Citations become
links to the sources. When no sentence survives, the caller falls back to quoted answers.
Behind KB_ANSWER_STYLE=abstractive; quotes stay the default (see README: measured).
"""

from __future__ import annotations

import re

from kb.entail import entailed
from kb.prompt import ZH_INSTRUCTION, says_dont_know
from kb.text import cjk_ratio, normalize, ungrounded_facts
from kb.types import AnswerPlan, Passage, Quote

MAX_PASSAGES = 3
MAX_SENTENCES = 3
SYSTEM_PROMPT = (
    "You are a customer support assistant. Answer the question in one to three short "
    "sentences, using only the numbered help-article passages below. After each sentence, "
    "cite the passage it comes from, like [1]. Copy numbers, prices, times and codes exactly. "
    'If the passages do not answer the question, say "I don\'t know".'
)
_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_ECHO = re.compile(
    r"›|\b(?:the )?(?:correct )?answer(?: to the question)? is\b|\bquestion\s*:", re.I
)
_NAME = re.compile(r"\b[A-Z][a-z]+[A-Za-z]*\b")


def cited_passages(quotes: list[Quote], passages: list[Passage]) -> list[Passage]:
    """The passages the model may cite, numbered from 1: those the evidence came from first."""
    ordered = [q.passage for q in quotes] + passages
    return list({p.id: p for p in ordered}.values())[:MAX_PASSAGES]


def build_cited_messages(question: str, lang: str, passages: list[Passage]) -> list[dict[str, str]]:
    numbered = "\n\n".join(
        f"[{n}] {p.title} › {p.heading}\n{' '.join(p.text.split())}"
        for n, p in enumerate(passages, 1)
    )
    ask = f"Passages:\n{numbered}\n\nQuestion: {question}"
    if lang == "zh":
        ask += f"\n{ZH_INSTRUCTION}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": ask}]


def checked_sentences(
    generated: str, plan: AnswerPlan, *, final: bool
) -> tuple[list[str], list[str]]:
    """(kept, dropped) sentences of the model's text. While streaming (final=False) the
    unfinished last sentence is neither; a don't-know or a wrong-language sentence drops."""
    passages = cited_passages(plan.quotes, plan.passages)
    text = " ".join((generated or "").split())
    parts = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    if parts and not final and not parts[-1].endswith((".", "!", "?", "。", "！", "？", "]")):
        parts = parts[:-1]
    kept: list[str] = []
    dropped: list[str] = []
    for sentence in parts:
        if len(kept) >= MAX_SENTENCES:
            break
        (kept if _grounded(sentence, plan, passages) else dropped).append(sentence)
    return kept, dropped


def render_cited(sentences: list[str], plan: AnswerPlan) -> str:
    """The kept sentences as Markdown, each [n] a link to its source when it has a URL."""
    passages = cited_passages(plan.quotes, plan.passages)

    def link(match: re.Match[str]) -> str:
        out = []
        for n in (int(x) for x in match.group(1).split(",")):
            p = passages[n - 1]
            out.append(f"[[{n}]]({p.url})" if p.url else f"[{n}]")
        return "".join(out)

    return " ".join(_CITE.sub(link, s) for s in sentences)


def _grounded(sentence: str, plan: AnswerPlan, passages: list[Passage]) -> bool:
    if says_dont_know(sentence) or (plan.lang == "zh") != (cjk_ratio(sentence) > 0.3):
        return False
    cited = [int(n) for m in _CITE.finditer(sentence) for n in m.group(1).split(",")]
    if not cited or any(n < 1 or n > len(passages) for n in cited):
        return False  # uncited, or citing a passage it was not given
    if _ECHO.search(sentence):
        return False  # the prompt's furniture ("The answer is:", "Title › Heading")
    sources = [passages[n - 1] for n in cited]
    evidence = " ".join(f"{p.title} {p.heading} {p.text}" for p in sources)
    bare = _CITE.sub("", sentence)
    if ungrounded_facts(bare, f"{evidence} {plan.question}"):
        return False
    have = normalize(f"{evidence} {plan.question}")
    names = [m.group() for m in _NAME.finditer(bare) if m.start() > 0]  # not the first word
    if not all(name.lower() in have for name in names):
        return False
    context = [f"{p.title}. {p.heading}." for p in sources]
    return entailed(bare, [p.text for p in sources], plan.question, context)  # restates one
