"""Whether a model-written sentence says no more than the passages it sits on: a lexical
entailment test for the 135M model's lead-ins and cited sentences.

Owns the test. A sentence is entailed when one unit of the evidence (a sentence, list item
or step) carries its content words in the same order (one word may come from elsewhere in
the evidence, one from the asker's question, one from nowhere such as "costs" beside a price;
two at most), and every modal or quantifier word it uses
("need", "must", "only", "all", "can"...) and every negation is in that unit too. Words
that each occur somewhere in the quotes but never together ("You need to get a new phone
with a 2FA code" over a quote about identity checks) fail: they are a new claim, not a
restatement. Pure: no model.
"""

from __future__ import annotations

import re

from kb.text import split_units, tokens

META_WORDS = frozenset({"answer", "correct", "question", "fact", "help", "article", "articl"})
_MODAL = re.compile(
    r"\b(?:need|needs|needed|must|should|required?|have to|has to|only|always|never|every"
    r"|all|any|can|cannot|can't|could|may|might|will|won't|not|no|none|yes|free)\b|n't"
)


def content(text: str) -> list[str]:
    return [t for t in tokens(text, drop_stopwords=True) if t not in META_WORDS]


def modals(text: str) -> set[str]:
    low = text.lower().replace("’", "'")
    return {m.replace("can't", "cannot").replace("n't", "not") for m in _MODAL.findall(low)}


def _in_order(words: list[str], unit: list[str]) -> bool:
    """`words` occur in `unit` as a subsequence (repeats of a word count once)."""
    at = 0
    for w in dict.fromkeys(words):
        try:
            at = unit.index(w, at) + 1
        except ValueError:
            try:
                at = unit.index(w) + 1  # one step back is a paraphrase, not a new claim
            except ValueError:
                return False
    return True


def entailed(
    sentence: str, evidence: list[str], question: str = "", context: list[str] | None = None
) -> bool:
    """True when `sentence` restates one unit of `evidence` (see the module docstring).
    `context` (the passages' titles and headings) lends words like the rest of the evidence
    does, but is never the unit restated."""
    words = content(sentence)
    if not words:
        return False
    everywhere = set(content(" ".join([*evidence, *(context or [])])))
    asked = set(content(question))
    said = modals(sentence)
    for unit_text in (u for text in evidence for u in split_units(text)):
        unit = content(unit_text)
        have = set(unit)
        inside = [w for w in words if w in have]
        outside = [w for w in dict.fromkeys(words) if w not in have]
        if not inside or len(inside) * 2 < len(words):
            continue
        from_quotes = [w for w in outside if w in everywhere]
        from_question = [w for w in outside if w not in everywhere and w in asked]
        from_nowhere = len(outside) - len(from_quotes) - len(from_question)
        if len(outside) > 2 or from_nowhere > 1 or len(from_quotes) > 1 or len(from_question) > 1:
            continue
        if not _in_order(inside, unit):
            continue
        if not said <= modals(unit_text):
            continue
        return True
    return False
