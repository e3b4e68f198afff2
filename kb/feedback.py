"""The feedback store: every answer given, the 👍/👎 votes on it, and the gaps report.

Owns its own SQLite file (separate from the index, which may be rebuilt at any time). An
answer row keeps the question, the standalone rewrite, the retrieved passages, the model,
the latency and whether the bot abstained; votes point at it. The report groups questions
by their normalised text and ranks them by how often they went unanswered or voted down.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kb.text import normalize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    channel TEXT,
    user TEXT,
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    question_key TEXT NOT NULL,
    lang TEXT NOT NULL,
    tier TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    answer TEXT NOT NULL,
    passages TEXT NOT NULL,
    model TEXT NOT NULL,
    latency_s REAL
);
CREATE INDEX IF NOT EXISTS answers_key ON answers(question_key);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user TEXT NOT NULL DEFAULT '',
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    ts REAL NOT NULL,
    PRIMARY KEY (answer_id, user)
);
"""


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
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add_answer(self, rec: AnswerRecord) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO answers (ts, channel, user, question, standalone, question_key, lang,"
                " tier, abstained, answer, passages, model, latency_s)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    rec.channel,
                    rec.user,
                    rec.question,
                    rec.standalone,
                    question_key(rec.standalone),
                    rec.lang,
                    rec.tier,
                    int(rec.abstained),
                    rec.answer,
                    json.dumps(rec.passages, ensure_ascii=False),
                    rec.model,
                    rec.latency_s,
                ),
            )
            return int(cur.lastrowid or 0)

    def add_vote(self, answer_id: int, vote: int, user: str | None = None) -> None:
        """Store (or change) one user's 👍 (+1) or 👎 (-1) on an answer."""
        if vote not in (-1, 1):
            raise ValueError(f"vote must be +1 or -1, got {vote}")
        with self._lock:
            if not self._db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone():
                raise KeyError(f"no answer with id {answer_id}")
            self._db.execute(
                "INSERT INTO votes (answer_id, user, vote, ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user)"
                " DO UPDATE SET vote = excluded.vote, ts = excluded.ts",
                (answer_id, user or "", vote, time.time()),
            )

    def answer(self, answer_id: int) -> dict[str, object] | None:
        with self._lock:
            cur = self._db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,))
            row = cur.fetchone()
            if row is None:
                return None
            out = dict(zip([d[0] for d in cur.description], row, strict=True))
            out["passages"] = json.loads(str(out["passages"]))
            out["votes"] = [
                {"user": u, "vote": v}
                for u, v in self._db.execute(
                    "SELECT user, vote FROM votes WHERE answer_id = ?", (answer_id,)
                )
            ]
            return out

    def gaps(self, limit: int = 20, since: float | None = None) -> list[GapRow]:
        """Questions most often unanswered or voted down, worst first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.question_key, count(DISTINCT a.id), sum(a.abstained),"
                " coalesce(sum(v.down), 0), coalesce(sum(v.up), 0), max(a.ts)"
                " FROM answers a LEFT JOIN ("
                "   SELECT answer_id, sum(vote < 0) AS down, sum(vote > 0) AS up"
                "   FROM votes GROUP BY answer_id) v ON v.answer_id = a.id"
                " WHERE a.ts >= ? GROUP BY a.question_key"
                " HAVING sum(a.abstained) + coalesce(sum(v.down), 0) > 0"
                " ORDER BY sum(a.abstained) + coalesce(sum(v.down), 0) DESC, max(a.ts) DESC"
                " LIMIT ?",
                (since or 0.0, limit),
            ).fetchall()
            out = []
            for key, asked, unanswered, down, up, last in rows:
                latest, docs = self._examples(key)
                out.append(GapRow(latest, asked, int(unanswered), int(down), int(up), docs, last))
            return out

    def _examples(self, key: str) -> tuple[str, list[str]]:
        rows = self._db.execute(
            "SELECT question, passages FROM answers WHERE question_key = ? ORDER BY ts DESC",
            (key,),
        ).fetchall()
        counts: dict[str, int] = {}
        for _, passages in rows:
            for p in json.loads(passages)[:1]:
                counts[str(p.get("doc"))] = counts.get(str(p.get("doc")), 0) + 1
        return rows[0][0], sorted(counts, key=counts.__getitem__, reverse=True)[:3]
