"""The persistent index: one SQLite file with documents, passages, their embeddings and an FTS5
table over each passage's normalised token stream.

Owns the schema and every SQL statement on the index. Lexical ranking is FTS5's bm25; the
dense side keeps float32 vectors as BLOBs and ranks them in numpy (a support KB has
thousands of passages, not millions). Safe to share across threads (one lock).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    kb_set TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    sha256 TEXT NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(tokens, tokenize = 'unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS passages_vocab USING fts5vocab(passages_fts, 'row');
"""


@dataclass(frozen=True, slots=True)
class StoredDoc:
    id: int
    path: str
    kb_set: str
    title: str
    url: str | None
    sha256: str


@dataclass(frozen=True, slots=True)
class StoredPassage:
    id: int
    doc_path: str
    kb_set: str
    title: str
    url: str | None
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class NewPassage:
    heading: str
    text: str
    tokens: str  # space-joined lexical tokens (kb.text.tokens)
    embedding: np.ndarray


class IndexStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None  # (ids, vectors) cache

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- documents -----------------------------------------------------------------------
    def documents(self) -> dict[str, StoredDoc]:
        with self._lock:
            rows = self._db.execute("SELECT id, path, kb_set, title, url, sha256 FROM docs")
            return {r[1]: StoredDoc(*r) for r in rows}

    def replace_document(
        self,
        path: str,
        kb_set: str,
        title: str,
        url: str | None,
        sha256: str,
        passages: Iterable[NewPassage],
    ) -> None:
        """Insert or re-index one document atomically."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._delete(path)
                cur = self._db.execute(
                    "INSERT INTO docs (path, kb_set, title, url, sha256, indexed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (path, kb_set, title, url, sha256, time.time()),
                )
                doc_id = cur.lastrowid
                for ord_, p in enumerate(passages):
                    cur = self._db.execute(
                        "INSERT INTO passages (doc_id, ord, heading, text, embedding)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (doc_id, ord_, p.heading, p.text, p.embedding.astype(np.float32).tobytes()),
                    )
                    self._db.execute(
                        "INSERT INTO passages_fts (rowid, tokens) VALUES (?, ?)",
                        (cur.lastrowid, p.tokens),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._matrix = None

    def delete_document(self, path: str) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._delete(path)
            self._db.execute("COMMIT")
            self._matrix = None

    def _delete(self, path: str) -> None:
        ids = [
            r[0]
            for r in self._db.execute(
                "SELECT p.id FROM passages p JOIN docs d ON d.id = p.doc_id WHERE d.path = ?",
                (path,),
            )
        ]
        self._db.executemany("DELETE FROM passages_fts WHERE rowid = ?", [(i,) for i in ids])
        self._db.execute("DELETE FROM docs WHERE path = ?", (path,))

    # --- reads ---------------------------------------------------------------------------
    def count_passages(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def passages(self, ids: Iterable[int]) -> dict[int, StoredPassage]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT p.id, d.path, d.kb_set, d.title, d.url, p.heading, p.text FROM passages p"
                f" JOIN docs d ON d.id = p.doc_id WHERE p.id IN ({marks})",
                ids,
            ).fetchall()
        return {r[0]: StoredPassage(*r) for r in rows}

    def doc_passages(self, path: str) -> list[StoredPassage]:
        """Every passage of one document, in reading order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.id, d.path, d.kb_set, d.title, d.url, p.heading, p.text FROM passages p"
                " JOIN docs d ON d.id = p.doc_id WHERE d.path = ? ORDER BY p.ord",
                (path,),
            ).fetchall()
        return [StoredPassage(*r) for r in rows]

    def passage_texts(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT text FROM passages")]

    def topic_texts(self) -> list[str]:
        """Every document title and section heading: what the knowledge base is about."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT d.title, p.heading FROM passages p JOIN docs d ON d.id = p.doc_id"
            ).fetchall()
        return list(dict.fromkeys(text for row in rows for text in row if text))

    def passage_sets(self) -> dict[int, str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT p.id, d.kb_set FROM passages p JOIN docs d ON d.id = p.doc_id"
            ).fetchall()
        return dict(rows)

    def lexical_search(self, query_tokens: list[str], limit: int) -> list[tuple[int, float]]:
        """(passage id, bm25 score; higher is better) for passages matching any token."""
        terms = sorted({t for t in query_tokens if t})
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ?"
                " ORDER BY bm25(passages_fts) LIMIT ?",
                (match, limit),
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def doc_freqs(self, terms: Iterable[str]) -> dict[str, int]:
        """How many passages contain each term (for IDF weights)."""
        terms = sorted(set(terms))
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        with self._lock:
            rows = self._db.execute(
                f"SELECT term, doc FROM passages_vocab WHERE term IN ({marks})", terms
            ).fetchall()
        return {t: int(n) for t, n in rows}

    def embedding_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (n,), vectors (n, dim)); cached until the next write."""
        with self._lock:
            if self._matrix is None:
                rows = self._db.execute("SELECT id, embedding FROM passages ORDER BY id").fetchall()
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                vecs = (
                    np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                    if rows
                    else np.zeros((0, 0), dtype=np.float32)
                )
                self._matrix = (ids, vecs)
            return self._matrix
