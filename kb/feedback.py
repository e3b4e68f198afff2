"""The feedback store: every answer given, the 👍/👎 votes on it, and the gaps report.

Its tables live in the store (`store/schema.py`: feedback_answers, feedback_votes): on
PostgreSQL when DATABASE_URL is set, so every replica's feedback is in one report; else in
the SQLite store under the data dir (or KB_FEEDBACK_DB, a file of its own). An answer row keeps
the question, the standalone rewrite, the retrieved passages, the model, the latency and
whether the bot abstained; votes point at it. The report groups questions by their normalised
text and ranks them by how often they went unanswered or voted down.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from kb.text import normalize
from store import Store
from store.schema import feedback_answers as answers
from store.schema import feedback_votes as votes

if TYPE_CHECKING:
    from kb.config import KbConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    question: str
    standalone: str
    lang: str
    tier: str
    abstained: bool
    answer: str
    passages: list[dict[str, object]]  # doc, title, heading, score
    model: str
    latency_s: float | None
    channel: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class GapRow:
    question: str  # the most recent wording
    asked: int
    unanswered: int
    down_votes: int
    up_votes: int
    top_docs: list[str]  # what retrieval found most often: the documents to improve
    last_asked: float


def question_key(text: str) -> str:
    """Normalised question used to group repeats: NFKC, lowercase, no punctuation."""
    return " ".join(re.sub(r"[^\w\s]", " ", normalize(text)).split())


class FeedbackStore:
    """Feedback over a Store (shared), or over a SQLite file of its own (a path)."""

    def __init__(self, where: Store | Path | str) -> None:
        self._owned = not isinstance(where, Store)
        if isinstance(where, Store):
            self.store = where
        else:
            self.store = Store.open(
                "sqlite://" if str(where) == ":memory:" else f"sqlite:///{where}"
            )

    @classmethod
    def for_config(cls, config: KbConfig) -> FeedbackStore:
        """KB_FEEDBACK_DB when set, else the store (DATABASE_URL or the data dir)."""
        return cls(Store.open(config.feedback_url))._owning()

    def _owning(self) -> FeedbackStore:
        self._owned = True
        return self

    def close(self) -> None:
        if self._owned:
            self.store.close()

    def add_answer(self, rec: AnswerRecord) -> int:
        """Record an answer being shown; its id for the 👍/👎 buttons, or 0 when the store
        cannot take it (logged): a feedback-store fault never costs the user the answer."""
        try:
            return self._insert_answer(rec)
        except SQLAlchemyError as err:
            logger.error("could not record the answer for feedback (%s): showing it anyway", err)
            return 0

    def _insert_answer(self, rec: AnswerRecord) -> int:
        with self.store.begin() as conn:
            result = conn.execute(
                answers.insert().values(
                    ts=time.time(),
                    channel=rec.channel,
                    user_id=rec.user,
                    question=rec.question,
                    standalone=rec.standalone,
                    question_key=question_key(rec.standalone),
                    lang=rec.lang,
                    tier=rec.tier,
                    abstained=int(rec.abstained),
                    answer=rec.answer,
                    passages=json.dumps(rec.passages, ensure_ascii=False),
                    model=rec.model,
                    latency_s=rec.latency_s,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def add_vote(self, answer_id: int, vote: int, user: str | None = None) -> None:
        """Store (or change) one user's 👍 (+1) or 👎 (-1) on an answer."""
        if vote not in (-1, 1):
            raise ValueError(f"vote must be +1 or -1, got {vote}")
        with self.store.begin() as conn:
            if conn.scalar(select(answers.c.id).where(answers.c.id == answer_id)) is None:
                raise KeyError(f"no answer with id {answer_id}")
            self.store.upsert(
                conn,
                votes,
                {"answer_id": answer_id, "user_id": user or "", "vote": vote, "ts": time.time()},
                keys=["answer_id", "user_id"],
            )

    def answer(self, answer_id: int) -> dict[str, object] | None:
        with self.store.begin() as conn:
            row = conn.execute(select(answers).where(answers.c.id == answer_id)).mappings().first()
            if row is None:
                return None
            out: dict[str, Any] = dict(row)
            out["user"] = out.pop("user_id")
            out["passages"] = json.loads(str(out["passages"]))
            out["votes"] = [
                {"user": u, "vote": v}
                for u, v in conn.execute(
                    select(votes.c.user_id, votes.c.vote).where(votes.c.answer_id == answer_id)
                )
            ]
            return out

    def gaps(self, limit: int = 20, since: float | None = None) -> list[GapRow]:
        """Questions most often unanswered or voted down, worst first."""
        per_answer = (
            select(
                votes.c.answer_id,
                func.sum(case((votes.c.vote < 0, 1), else_=0)).label("down"),
                func.sum(case((votes.c.vote > 0, 1), else_=0)).label("up"),
            )
            .group_by(votes.c.answer_id)
            .subquery()
        )
        unanswered = func.sum(answers.c.abstained)
        down = func.coalesce(func.sum(per_answer.c.down), 0)
        up = func.coalesce(func.sum(per_answer.c.up), 0)
        last = func.max(answers.c.ts)
        query = (
            select(
                answers.c.question_key,
                func.count(answers.c.id.distinct()),
                unanswered,
                down,
                up,
                last,
            )
            .select_from(answers.outerjoin(per_answer, per_answer.c.answer_id == answers.c.id))
            .where(answers.c.ts >= (since or 0.0))
            .group_by(answers.c.question_key)
            .having(unanswered + down > 0)
            .order_by((unanswered + down).desc(), last.desc())
            .limit(limit)
        )
        with self.store.begin() as conn:
            rows = conn.execute(query).all()
            out = []
            for key, asked, n_unanswered, n_down, n_up, last_ts in rows:
                latest, docs = self._examples(conn, key)
                out.append(
                    GapRow(
                        latest,
                        int(asked),
                        int(n_unanswered),
                        int(n_down),
                        int(n_up),
                        docs,
                        float(last_ts),
                    )
                )
            return out

    def _examples(self, conn: Any, key: str) -> tuple[str, list[str]]:
        rows = conn.execute(
            select(answers.c.question, answers.c.passages)
            .where(answers.c.question_key == key)
            .order_by(answers.c.ts.desc(), answers.c.id.desc())
        ).all()
        counts: dict[str, int] = {}
        for _, passages in rows:
            for p in json.loads(passages)[:1]:
                counts[str(p.get("doc"))] = counts.get(str(p.get("doc")), 0) + 1
        return rows[0][0], sorted(counts, key=counts.__getitem__, reverse=True)[:3]
