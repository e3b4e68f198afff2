"""Hybrid retrieval: FTS5 bm25 over normalised tokens plus dense MiniLM cosine, fused by
reciprocal rank fusion (RRF) into one ranking, restricted to the caller's knowledge sets.

Owns the candidate depth, the fusion weights and the per-hit scores the answer side reads.
The dense side is down-weighted for text that is mostly CJK, where an English-only
embedder carries little signal and the character bigrams carry most.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.embedder import Embedder
from kb.store import IndexStore, StoredPassage
from kb.text import cjk_ratio, tokens

RRF_K = 60  # the constant from Cormack et al. (2009); it damps the head of each list
CANDIDATES = 50
FOCUS_WEIGHT = 0.75  # the asking sentences' rankings, against 1.0 for the whole message


@dataclass(frozen=True, slots=True)
class Hit:
    passage: StoredPassage
    score: float  # fused RRF score
    dense: float  # cosine similarity with the query, -1..1
    lexical: float  # bm25 (0 when the passage matched no query token)


class Retriever:
    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(
        self,
        query: str,
        *,
        sets: frozenset[str] | None = None,
        k: int = 5,
        focus: str | None = None,
        thread: str | None = None,
    ) -> list[Hit]:
        """Top-k passages for `query`; `sets=None` searches every knowledge set. `focus`
        (the message's asking sentences, see kb.focus) and `thread` (the question with the
        thread's last user message, for a follow-up) are searched too and fused in at
        FOCUS_WEIGHT, so neither a story before the question nor a rewrite that lost the
        thread's subject decides alone."""
        allowed = self._allowed_ids(sets)
        dense, dense_rank, lexical, lexical_rank = self._rankings(query, allowed)
        w_dense = 1.0 - 0.5 * cjk_ratio(query)
        lists = [(w_dense, dense_rank), (1.0, lexical_rank)]
        for extra in (focus, thread):
            if extra:
                f_dense, f_dense_rank, _, f_lexical_rank = self._rankings(extra, allowed)
                lists += [(FOCUS_WEIGHT * w_dense, f_dense_rank), (FOCUS_WEIGHT, f_lexical_rank)]
                dense = {pid: max(s, f_dense.get(pid, s)) for pid, s in dense.items()}
        # Reciprocal rank fusion.
        fused: dict[int, float] = {}
        for weight, ranking in lists:
            for rank, pid in enumerate(ranking):
                fused[pid] = fused.get(pid, 0.0) + weight / (RRF_K + rank + 1)
        top = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        stored = self.store.passages(top)
        return [
            Hit(stored[pid], fused[pid], dense.get(pid, 0.0), lexical.get(pid, 0.0))
            for pid in top
            if pid in stored
        ]

    def _rankings(
        self, query: str, allowed: set[int] | None
    ) -> tuple[dict[int, float], list[int], dict[int, float], list[int]]:
        """(dense scores, dense ranking, bm25 scores, bm25 ranking) within `allowed`."""
        # Dense ranking over every passage (brute force: small KBs).
        ids, matrix = self.store.embedding_matrix()
        dense: dict[int, float] = {}
        if len(ids):
            qvec = self.embedder.encode([query])[0]
            sims = matrix @ qvec
            dense = {int(i): float(s) for i, s in zip(ids, sims, strict=True)}
        dense_rank = [
            i
            for i in sorted(dense, key=dense.__getitem__, reverse=True)
            if allowed is None or i in allowed
        ][:CANDIDATES]
        # Lexical ranking (FTS5 bm25 over the same token stream the index holds).
        query_tokens = tokens(query, drop_stopwords=True)
        lexical = dict(self.store.lexical_search(query_tokens, 4 * CANDIDATES))
        lexical_rank = [i for i in lexical if allowed is None or i in allowed][:CANDIDATES]
        return dense, dense_rank, lexical, lexical_rank

    def _allowed_ids(self, sets: frozenset[str] | None) -> set[int] | None:
        if sets is None:
            return None
        return {pid for pid, s in self.store.passage_sets().items() if s in sets}
