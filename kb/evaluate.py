"""`kb eval`: run a question file through the bot's own path and score it.

Owns the question-file format (that of sample-kb/questions.jsonl), the metrics (retrieval
hit@1/hit@3 by document, answer accuracy by `must_include`, abstain accuracy on unanswerable
items, off-topic accuracy on `off_topic` items, false refusals: answerable items whose reply
says it couldn't find the answer, lead-in: how often the model's sentence was kept or
replaced by the fixed one, latency) and their breakdown by kind and language. Every item
goes through kb.ask.answer, the bot's own path: the route (in `auto` unless told otherwise),
then desk.prepare -> engine.submit -> desk.finalize for the KB.

An `off_topic` item is right when it is neither answered from the KB nor handed off (the
general assistant or a small-talk reply takes it); its assistant prose is not generated.
An answerable or unanswerable item sent to the assistant is wrong: the KB had to take it.
"""

from __future__ import annotations

import json
import statistics
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kb.ask import answer as answer_question
from kb.desk import SupportDesk
from kb.prompt import says_dont_know
from kb.route import Mode

OFF_TOPIC = "off_topic"


@dataclass(slots=True)
class ItemResult:
    id: str
    kind: str
    lang: str
    answerable: bool
    docs: list[str]  # distinct retrieved documents, best first
    hit1: bool | None
    hit3: bool | None
    correct: bool  # answer accuracy (answerable) or abstain accuracy (unanswerable)
    tier: str
    model_text_used: bool
    latency_s: float
    answer: str = field(repr=False)
    route: str = "kb"
    refused: bool = False  # the reply says it couldn't find / doesn't know (or hands off only)
    lead_in: str = "-"  # "kept": the model's sentence shown; "replaced": the fixed one instead


def load_questions(path: Path) -> list[dict[str, Any]]:
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: not JSON ({err})") from None
    return items


def match_text(text: str) -> str:
    """The scorer's normal form: NFKC, lowercase, no Markdown * _ `, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    for ch in "*_`":
        text = text.replace(ch, "")
    return " ".join(text.split())


def is_dont_know(text: str) -> bool:
    return says_dont_know(text)


def run_item(
    desk: SupportDesk, engine: Any, item: dict[str, Any], mode: Mode | None = None
) -> ItemResult:
    started = time.perf_counter()
    got = answer_question(
        desk, engine, item["question"], item.get("turns") or [], mode=mode, write_assistant=False
    )
    latency = time.perf_counter() - started
    plan, final = got.plan, got.final
    docs = list(dict.fromkeys(p.doc for p in plan.passages)) if plan else []
    text = match_text(got.text)
    gold = [d for d in [item.get("doc"), *(item.get("alt_docs") or [])] if d]
    kind = str(item.get("kind", ""))
    answerable = bool(gold)
    hit1 = hit3 = None
    if answerable:
        hit1 = any(_same_doc(d, g) for d in docs[:1] for g in gold)
        hit3 = any(_same_doc(d, g) for d in docs[:3] for g in gold)
        correct = got.route == "kb" and all(
            match_text(s) in text for s in item.get("must_include") or []
        )
    elif kind == OFF_TOPIC:
        correct = got.route in ("assistant", "smalltalk")
    else:
        invented = any(match_text(s) in text for s in item.get("must_not_include") or [])
        correct = got.route == "kb" and is_dont_know(got.text) and not invented
    refused = got.route == "kb" and is_dont_know(got.text)
    lead_in = "-"
    if final is not None and plan is not None and plan.needs_generation and not final.abstained:
        lead_in = "kept" if final.model_text_used else "replaced"
    return ItemResult(
        str(item.get("id")),
        kind,
        str(item.get("lang", plan.lang if plan else "en")),
        answerable,
        docs,
        hit1,
        hit3,
        correct,
        final.tier if final else "-",
        final.model_text_used if final else False,
        latency,
        got.text,
        got.route,
        refused,
        lead_in,
    )


def summarize(results: list[ItemResult]) -> dict[str, Any]:
    """The figures `kb eval` prints, overall and by kind and language."""
    out: dict[str, Any] = _figures(results)
    out["by_kind"] = {
        k: _figures([r for r in results if r.kind == k]) for k in sorted({r.kind for r in results})
    }
    out["by_lang"] = {
        k: _figures([r for r in results if r.lang == k]) for k in sorted({r.lang for r in results})
    }
    lat = sorted(r.latency_s for r in results)
    out["latency_s"] = {
        "p50": round(_pct(lat, 50), 3),
        "p95": round(_pct(lat, 95), 3),
        "mean": round(statistics.fmean(lat), 3) if lat else 0.0,
    }
    return out


def _figures(results: list[ItemResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    off_topic = [r for r in results if r.kind == OFF_TOPIC]
    unanswerable = [r for r in results if not r.answerable and r.kind != OFF_TOPIC]
    tiers: dict[str, int] = {}
    routes: dict[str, int] = {}
    for r in results:
        tiers[r.tier] = tiers.get(r.tier, 0) + 1
        routes[r.route] = routes.get(r.route, 0) + 1
    return {
        "n": len(results),
        "hit@1": _rate([bool(r.hit1) for r in answerable]),
        "hit@3": _rate([bool(r.hit3) for r in answerable]),
        "answer_accuracy": _rate([r.correct for r in answerable]),
        "answer_n": len(answerable),
        "confident_answer_accuracy": _rate([r.correct and r.tier == "answer" for r in answerable]),
        "false_refusals": _rate([r.refused for r in answerable]),
        "false_refusals_n": sum(r.refused for r in answerable),
        "lead_in": {
            "kept": sum(r.lead_in == "kept" for r in results),
            "replaced": sum(r.lead_in == "replaced" for r in results),
        },
        "abstain_accuracy": _rate([r.correct for r in unanswerable]),
        "abstain_n": len(unanswerable),
        "off_topic_accuracy": _rate([r.correct for r in off_topic]),
        "off_topic_n": len(off_topic),
        "tiers": tiers,
        "routes": routes,
    }


def _rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def _pct(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _same_doc(retrieved: str, gold: str) -> bool:
    """A gold `doc` names a file in the KB: its path, or just its name when it has no folder."""
    gold = gold.replace("\\", "/")
    return retrieved == gold or ("/" not in gold and retrieved.rsplit("/", 1)[-1] == gold)


def result_rows(results: list[ItemResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
