"""SupportDesk: the one object the bot and `kb eval` use to answer from the knowledge base.

prepare() does everything before generation (standalone question, hybrid retrieval in the
channel's sets, evidence, confidence tier, prompt); the caller runs the engine; finalize()
checks and composes the reply. It also records answers and votes for the gaps report.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.abstractive import build_cited_messages, cited_passages
from kb.answer import draft_lead_in, finalize_answer
from kb.channels import parse_channel_sets, sets_for_channel
from kb.checks import (
    about_subject,
    entities_consistent,
    expected_types,
    has_answer_type,
    near_word,
    unknown_names,
)
from kb.embedder import Embedder
from kb.evidence import (
    ARTICLE_DEPTH,
    Evidence,
    candidate_passages,
    idf_from_counts,
    quotes,
    select_evidence,
    with_procedure,
)
from kb.feedback import AnswerRecord, FeedbackStore, GapRow
from kb.focus import question_focus
from kb.ingest import IngestReport, ingest_dir
from kb.prompt import build_messages, template
from kb.retrieval import Hit, Retriever
from kb.rewrite import model_standalone
from kb.route import ChannelModes, Mode, RouteDecision, on_topic, smalltalk_kind, smalltalk_reply
from kb.standalone import make_standalone
from kb.store import IndexStore
from kb.text import cjk_ratio, detect_lang, proper_nouns, tokens
from kb.types import AnswerPlan, FinalAnswer, Passage, Quote, Tier

if TYPE_CHECKING:
    from kb.config import KbConfig

logger = logging.getLogger(__name__)


class SupportDesk:
    def __init__(
        self,
        settings: KbConfig,
        store: IndexStore,
        embedder: Embedder,
        feedback: FeedbackStore,
        engine: Any | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.feedback = feedback
        self.engine = engine
        self.retriever = Retriever(store, embedder)
        self.bindings = parse_channel_sets(settings.kb_channel_sets)
        self.modes = ChannelModes.parse(settings.channel_modes)
        self._names: set[str] | None = None  # words the KB writes capitalised (see proper_nouns)
        self._topic: set[str] | None = None  # words of the KB's titles and headings
        self._words: set[str] | None = None  # every word the KB writes, lowercased

    @classmethod
    def open(
        cls,
        settings: KbConfig,
        engine: Any | None = None,
        *,
        index_path: Path | None = None,
        kb_dir: Path | None = None,
        progress: bool = False,
        embedder: Embedder | None = None,
    ) -> SupportDesk:
        """Open the index (ingesting `kb_dir`, else KB_DIR when set) and load the embedder."""
        embedder = embedder or Embedder(settings.kb_embedding_model)
        store = IndexStore(index_path or settings.kb_index)
        desk = cls(settings, store, embedder, FeedbackStore.for_config(settings), engine)
        source = kb_dir or settings.kb_dir
        if source is not None:
            desk.ingest(Path(source), progress=progress)
        return desk

    def close(self) -> None:
        self.store.close()
        self.feedback.close()

    def ingest(self, kb_dir: Path, *, progress: bool = False) -> IngestReport:
        report = ingest_dir(kb_dir, self.store, self.embedder, progress=progress)
        self._names = self._topic = self._words = None
        return report

    def sets_for(self, channel_id: str | None) -> frozenset[str] | None:
        return sets_for_channel(channel_id, self.bindings, self.settings.kb_default_set)

    # --- answering -----------------------------------------------------------------------
    def prepare(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        channel_id: str | None = None,
    ) -> AnswerPlan:
        """Everything before generation; see AnswerPlan."""
        started = time.perf_counter()
        s = self.settings
        # 1) Language of the reply, and a question that stands without the thread.
        lang = detect_lang(question)
        standalone = make_standalone(question, history or [], self._is_specific)
        if history and s.kb_standalone == "model" and self.engine is not None:
            standalone = model_standalone(self.engine, question, history) or standalone
        # 2) Hybrid retrieval in the channel's knowledge sets.
        sets = self.sets_for(channel_id)
        focus = question_focus(standalone)
        asked = [t.get("content", "") for t in history or [] if t.get("role") == "user"]
        thread = f"{asked[-1]} {question}" if asked else None
        ranked_hits = self.retriever.search(
            standalone, sets=sets, k=max(s.kb_top_k, ARTICLE_DEPTH), focus=focus, thread=thread
        )
        hits = ranked_hits[: s.kb_top_k]
        # 3) The units that best answer it, and how strongly.
        types = expected_types(standalone)
        ranked = select_evidence(
            standalone,
            candidate_passages(ranked_hits),
            self.embedder,
            self._idf,
            has_type=lambda unit: has_answer_type(unit, types),
        )
        chosen = quotes(ranked)
        confidence = chosen[0].score if chosen else 0.0
        if not types and chosen:  # not a quantity question: a how-to is answered by steps
            doc = self.store.doc_passages(chosen[0].hit.passage.doc_path)
            chosen = with_procedure(standalone, chosen, doc, self.embedder)
        tier: Tier = (
            "answer"
            if confidence >= s.kb_answer_min_score
            else "hedge"
            if confidence >= s.kb_hedge_min_score
            else "abstain"
        )
        notes: tuple[str, ...] = ()
        if tier != "abstain":
            chosen = [e for e in chosen if self._about(standalone, e)]
            notes = self._unanswerable(standalone, chosen)
            if notes:
                tier, chosen = "abstain", []
            elif tier == "answer":
                notes = self._check(standalone, types, chosen)
                tier = "hedge" if notes else "answer"
        passages = [_passage(h) for h in hits]
        by_id = {p.id: p for p in passages}
        for e in chosen:  # a procedure may come from a passage retrieval did not rank
            by_id.setdefault(e.hit.passage.id, _passage(e.hit))
        plan_quotes = [Quote(e.text, by_id[e.hit.passage.id], e.score) for e in chosen]
        # 4) The prompt, only when the model has something to do.
        style = s.kb_answer_style if tier == "answer" else "quotes"
        messages: list[dict[str, str]] = []
        if style == "abstractive":
            cited = cited_passages(plan_quotes, passages)
            messages = build_cited_messages(standalone, lang, cited)
        elif tier == "answer":
            messages = build_messages(standalone, lang, plan_quotes)
        return AnswerPlan(
            question,
            standalone,
            lang,
            sets,
            passages,
            plan_quotes if tier != "abstain" else [],
            confidence,
            tier,
            messages,
            list({p.doc: p.source for p in passages}.values()),
            time.perf_counter() - started,
            notes,
            style,
        )

    def draft(self, plan: AnswerPlan, generated_so_far: str) -> str:
        """What may be shown of the model's lead-in while it is written (see draft_lead_in)."""
        return draft_lead_in(generated_so_far, plan)

    def finalize(self, plan: AnswerPlan, generated_text: str) -> FinalAnswer:
        """The reply to show, after the grounding post-check."""
        return finalize_answer(plan, generated_text, handoff_mention=self.settings.handoff_mention)

    # --- feedback ------------------------------------------------------------------------
    def log_answer(
        self,
        plan: AnswerPlan,
        final: FinalAnswer,
        *,
        model: str,
        latency_s: float | None,
        channel_id: str | None = None,
        user_id: str | None = None,
    ) -> int:
        """Record an answer that was shown; returns its id for the 👍/👎 buttons."""
        passages = [
            {"doc": p.doc, "title": p.title, "heading": p.heading, "score": round(p.score, 4)}
            for p in plan.passages
        ]
        return self.feedback.add_answer(
            AnswerRecord(
                plan.question,
                plan.standalone_question,
                plan.lang,
                final.tier,
                final.abstained,
                final.text,
                passages,
                model,
                latency_s,
                channel_id,
                user_id,
            )
        )

    def record_feedback(self, answer_id: int, vote: int, user_id: str | None = None) -> None:
        """Store a 👍 (+1) or 👎 (-1) on a logged answer."""
        self.feedback.add_vote(answer_id, vote, user_id)

    def report(self, limit: int = 20, since: float | None = None) -> list[GapRow]:
        """Questions most often unanswered or voted down: the gaps to fill."""
        return self.feedback.gaps(limit, since)

    # --- routing -------------------------------------------------------------------------
    def route(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        channel_id: str | None = None,
        *,
        is_dm: bool = False,
        mode: Mode | None = None,
    ) -> tuple[RouteDecision, AnswerPlan | None]:
        """Where the question goes (see kb.route), with the KB plan when retrieval ran.

        `mode` overrides the channel's mode (CHANNEL_MODES). Small talk never reaches the
        KB; in `auto`, a question the KB is not about goes to the general assistant."""
        mode = mode or self.modes.get(channel_id, is_dm=is_dm)
        if mode == "assistant":
            return RouteDecision("assistant", mode, "the channel's mode is assistant"), None
        kind = smalltalk_kind(question)
        if kind is not None:
            return RouteDecision("smalltalk", mode, f"small talk ({kind})", kind), None
        plan = self.prepare(question, history, channel_id)
        if mode == "kb":
            return RouteDecision("kb", mode, "the channel's mode is kb"), plan
        nearest = max((p.dense for p in plan.passages), default=0.0)
        words = sorted(set(tokens(plan.standalone_question, drop_stopwords=True)) & self.topic)
        reason = f"nearest passage {nearest:.2f}, topic words {words or 'none'}"
        if on_topic(plan.standalone_question, nearest, words):
            return RouteDecision("kb", mode, f"on-topic: {reason}"), plan
        return RouteDecision("assistant", mode, f"off-topic: {reason}"), plan

    def smalltalk_reply(self, kind: str | None, question: str) -> str:
        return smalltalk_reply(kind or "greeting", detect_lang(question))

    def assistant_note(self, question: str) -> str:
        """The footer line under an answer that did not come from the knowledge base."""
        return template(detect_lang(question), "not_from_kb")

    @property
    def topic(self) -> set[str]:
        """The words of the KB's titles and section headings (stopwords left out)."""
        if self._topic is None:
            self._topic = {
                t for text in self.store.topic_texts() for t in tokens(text, drop_stopwords=True)
            }
        return self._topic

    # --- helpers -------------------------------------------------------------------------
    def _about(self, question: str, evidence: Evidence) -> bool:
        """The unit is about the question's subject, not merely sharing a name with it."""
        if cjk_ratio(question) > 0.3:
            return True  # CJK bigrams are too coarse for this; the score decides
        p = evidence.hit.passage
        context = f"{evidence.text} {p.heading} {p.title}"
        return about_subject(question, context, evidence.dense, self._is_name)

    def _unanswerable(self, question: str, chosen: list[Evidence]) -> tuple[str, ...]:
        """Reasons no passage can answer the question (empty: one may)."""
        if not chosen:
            return ("no passage is about the question's subject",)
        unknown = unknown_names(question, self._in_kb, self.embedder.is_word, self._near_kb)
        if unknown:
            return (f"the help articles never mention {', '.join(unknown)}",)
        return ()

    def _check(self, question: str, types: set[str], chosen: list[Evidence]) -> tuple[str, ...]:
        """Reasons the best evidence may not answer the question (empty: it may)."""
        notes = []
        if not has_answer_type(chosen[0].text, types):
            notes.append(f"no {'/'.join(sorted(types))} in the evidence")
        best = chosen[0].hit.passage
        if not entities_consistent(
            question, chosen[0].text, best.heading, best.title, self._is_name, self._in_kb
        ):
            notes.append("the evidence is about something else")
        return tuple(notes)

    def _idf(self, terms: list[str]) -> dict[str, float]:
        return idf_from_counts(self.store.doc_freqs(terms), self.store.count_passages(), terms)

    def _is_name(self, word: str) -> bool:
        """A word the knowledge base writes as a name (so a lowercase "cardiff" counts)."""
        if self._names is None:
            self._names = proper_nouns(self.store.passage_texts())
        return word.lower() in self._names

    def _is_specific(self, word: str) -> bool:
        """A name the knowledge base writes in at most a third of its passages: a thread's
        subject ("Skylark"), not the product's own name that is on every page ("Zulip")."""
        if not self._is_name(word):
            return False
        count = sum(self.store.doc_freqs(tokens(word)).values())
        return count * 3 <= self.store.count_passages()

    def _near_kb(self, word: str) -> bool:
        """A misspelling of a word the knowledge base uses (its words, as written)."""
        if self._words is None:
            texts = self.store.passage_texts()
            self._words = {w for text in texts for w in re.findall(r"[a-z]+", text.lower())}
        return near_word(word, self._words)

    def _in_kb(self, term: str) -> bool:
        return bool(self.store.doc_freqs([term]))


def _passage(hit: Hit) -> Passage:
    p = hit.passage
    return Passage(
        p.id,
        p.doc_path,
        p.kb_set,
        p.title,
        p.heading,
        p.url,
        p.text,
        hit.score,
        hit.dense,
        hit.lexical,
    )
