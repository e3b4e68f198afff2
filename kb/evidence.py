"""Evidence selection: the passage units (sentences, list items, table rows) that best answer
the standalone question, and how strongly the best of them does.

Owns the unit score: dense similarity (unit alone and with its title/heading) blended with
IDF-weighted coverage of the question's terms and the passage's retrieval rank. The dense
part weighs less for CJK questions, where the English embedder carries little signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from kb.embedder import Embedder
from kb.ingest import passage_context
from kb.retrieval import Hit
from kb.store import StoredPassage
from kb.text import Unit, cjk_ratio, is_cjk, passage_units, tokens

MAX_QUOTES = 2
SECOND_QUOTE_MARGIN = 0.1  # quote a runner-up unit only when it scores this close to the best
TYPE_PENALTY = 0.15
# The retrieval prior: units of the document ranked n-th (from 0) lose
# RANK_WEIGHT * (1 - 1 / (1 + n)), nothing for the first.
# Retrieval judges a whole passage with its title and headings; one sentence alone is
# judged on less, so the document that ranked first should win close calls.
RANK_WEIGHT = 0.15
EVIDENCE_PASSAGES = 4  # the retrieved passages whose units are candidates
ARTICLE_DEPTH = 12  # ...and the first article's sections ranked down to here


def candidate_passages(hits: list[Hit]) -> list[Hit]:
    """The passages whose units may answer: the first EVIDENCE_PASSAGES retrieved, then the
    first-ranked article's other sections among the first ARTICLE_DEPTH. The article
    retrieval trusts most often answers in a section that shares few words with the
    question ("how long before it's gone for good?" is answered under "Restoring deleted
    messages", ranked 10th)."""
    if not hits:
        return []
    article = hits[0].passage.doc_path
    more = hits[EVIDENCE_PASSAGES:ARTICLE_DEPTH]
    return hits[:EVIDENCE_PASSAGES] + [h for h in more if h.passage.doc_path == article]


@dataclass(frozen=True, slots=True)
class Evidence:
    text: str  # verbatim unit from the passage
    hit: Hit  # the passage it came from
    score: float  # blended score (roughly 0..1.3)
    dense: float  # cosine(question, unit with its heading)
    coverage: float  # IDF-weighted share of the question's terms found in unit + heading
    unit: Unit | None = None  # where the text sits in its passage (a step of a procedure...)


def select_evidence(
    question: str,
    hits: list[Hit],
    embedder: Embedder,
    idf: Callable[[list[str]], dict[str, float]],
    *,
    has_type: Callable[[str], bool] | None = None,
) -> list[Evidence]:
    """Rank the units of the passages in `hits`, best first. `has_type` tells whether a unit
    holds the kind of value the question asks for (a price, a duration...); units without it
    drop by TYPE_PENALTY, as in classic answer-type filtering."""
    structured = [(u, h) for h in hits for u in passage_units(h.passage.text)]
    units = [(u.text, h) for u, h in structured]
    if not units:
        return []
    # 1) Dense: the unit alone and the unit in its context, against the question.
    contexts = [passage_context(h.passage.title, h.passage.heading) for _, h in units]
    qvec = embedder.encode([question])[0]
    alone = embedder.encode([u for u, _ in units]) @ qvec
    situated_texts = [f"{c}: {u}" for c, (u, _) in zip(contexts, units, strict=True)]
    situated = embedder.encode(situated_texts) @ qvec
    # 2) Lexical: IDF-weighted coverage of the question's terms.
    q_terms = sorted(set(tokens(question, drop_stopwords=True)))
    weights = idf(q_terms)
    total = sum(weights.values()) or 1.0
    top_score = hits[0].score or 1.0
    docs = list(dict.fromkeys(h.passage.doc_path for h in hits))
    doc_rank = {d: n for n, d in enumerate(docs)}
    w_dense = 1.0 - 0.7 * cjk_ratio(question)
    ranked = []
    for (unit, hit), (info, _), ctx, a, b in zip(
        units, structured, contexts, alone, situated, strict=True
    ):
        have = set(tokens(f"{ctx} {unit}"))
        coverage = sum(w for t, w in weights.items() if t in have) / total
        dense = float(0.5 * a + 0.5 * b)
        w_cover = 0.3 + 0.5 * (1 - w_dense)
        prior = RANK_WEIGHT * (1 / (1 + doc_rank[hit.passage.doc_path]) - 1)  # first: 0
        score = w_dense * dense + w_cover * coverage + 0.1 * hit.score / top_score + prior
        if has_type is not None and not has_type(unit):
            score -= TYPE_PENALTY
        ranked.append(Evidence(unit, hit, score, dense, coverage, info))
    ranked.sort(key=lambda e: e.score, reverse=True)
    return ranked


def with_procedure(
    question: str,
    chosen: list[Evidence],
    doc_passages: list[StoredPassage],
    embedder: Embedder,
) -> list[Evidence]:
    """The best quote plus the numbered procedure of its document that best fits the
    question, when the document has one and no step is quoted yet: "can I..." and "how do
    I..." are answered by the steps (the buttons to click), which a bi-encoder ranks below
    the sentence that names the feature. Each procedure is judged with its section path."""
    if not chosen or any(e.unit is not None and e.unit.kind == "step" for e in chosen):
        return chosen
    best = chosen[0]
    found: list[tuple[StoredPassage, list[Unit]]] = []
    for passage in doc_passages:
        lists: dict[int, list[Unit]] = {}
        for u in passage_units(passage.text):
            if u.kind == "step":
                lists.setdefault(u.block, []).append(u)
        found.extend((passage, steps) for steps in lists.values())
    own = [item for item in found if item[0].id == best.hit.passage.id]
    if own:  # the steps that follow the sentence naming the feature
        found = own
    if not found:
        return chosen
    texts = [
        f"{passage_context(p.title, p.heading)}: {' '.join(u.text for u in steps)}"
        for p, steps in found
    ]
    qvec = embedder.encode([question])[0]
    sims = embedder.encode(texts) @ qvec
    n = int(sims.argmax())
    passage, steps = found[n]
    hit = Hit(passage, best.hit.score, float(sims[n]), 0.0)
    first = Evidence(steps[0].text, hit, best.score, float(sims[n]), best.coverage, steps[0])
    as_ranked = [Evidence(u.text, hit, best.score, first.dense, 0.0, u) for u in steps]
    return [best, procedure(first, as_ranked)]


def quotes(ranked: list[Evidence]) -> list[Evidence]:
    """The units to quote: the best, plus a close runner-up that adds something. When the
    best is a step of a numbered procedure, the whole procedure is the quote (one step of
    a how-to answers nothing alone)."""
    if not ranked:
        return []
    best = ranked[0]
    if best.unit is not None and best.unit.kind == "step":
        return [procedure(best, ranked)]
    chosen = [ranked[0]]
    for ev in ranked[1:]:
        if len(chosen) >= MAX_QUOTES or ev.score < ranked[0].score - SECOND_QUOTE_MARGIN:
            break
        if ev.text not in chosen[0].text and ev.hit.passage.doc_path == best.hit.passage.doc_path:
            chosen.append(ev)  # a runner-up from another article mixes two answers
    return chosen


def idf_from_counts(
    doc_freqs: dict[str, int], n_passages: int, terms: list[str]
) -> dict[str, float]:
    """Smoothed IDF. A word the knowledge base never uses still counts (it may be the point
    of the question), at the weight of a word seen once; a CJK bigram it never uses is
    dropped (most such bigrams straddle two words and mean nothing)."""
    n = max(n_passages, 1)
    return {
        t: math.log(1.0 + n / (1.0 + max(doc_freqs.get(t, 0), 1)))
        for t in terms
        if doc_freqs.get(t, 0) or not is_cjk(t)
    }


MAX_STEPS = 8


def procedure(step: Evidence, ranked: list[Evidence]) -> Evidence:
    """The numbered list `step` belongs to, as one quote ("1. ...\n2. ..."), at its score."""
    assert step.unit is not None
    same = [
        e.unit
        for e in ranked
        if e.hit.passage.id == step.hit.passage.id
        and e.unit is not None
        and e.unit.block == step.unit.block
    ]
    order = {u.text: n for n, u in enumerate(passage_units(step.hit.passage.text))}
    steps = sorted({u.text: u for u in same}.values(), key=lambda u: order.get(u.text, 0))
    lines: list[str] = []
    marker = ""
    for u in steps:
        if u.marker == marker and lines:
            lines[-1] += f" {u.text}"  # a long step split into sentences
        elif len(lines) < MAX_STEPS:
            lines.append(f"{u.marker} {u.text}")
        marker = u.marker
    text = "\n".join(lines)
    return Evidence(text, step.hit, step.score, step.dense, step.coverage, step.unit)
