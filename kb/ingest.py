"""Incremental ingest: make the index mirror one knowledge-base directory.

Owns walking the directory, the content-hash comparison (unchanged files are skipped,
changed ones re-indexed, vanished ones removed), knowledge-set assignment (a file's first
folder under the root names its set; files at the root are in `default`) and the progress bar.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from kb.documents import Document, content_hash, is_kb_file, parse_document
from kb.embedder import Embedder
from kb.store import IndexStore, NewPassage
from kb.text import TOKENIZER, tokens

logger = logging.getLogger(__name__)

DEFAULT_SET = "default"


@dataclass(frozen=True, slots=True)
class IngestReport:
    added: int
    updated: int
    removed: int
    unchanged: int
    passages: int

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged; {self.passages} passages in the index"
        )


def kb_set_for(rel_path: str) -> str:
    parts = rel_path.split("/")
    return parts[0] if len(parts) > 1 else DEFAULT_SET


def ingest_dir(
    root: Path, store: IndexStore, embedder: Embedder, *, progress: bool = False
) -> IngestReport:
    """Bring the index in line with the files under `root`."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"knowledge base directory not found: {root}")
    # 1) A different embedding model or token stream invalidates every stored passage.
    full = store.get_meta("embedder") != embedder.name or store.get_meta("tokenizer") != TOKENIZER
    files = {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and is_kb_file(p) and not _hidden(p.relative_to(root))
    }
    known = store.documents()
    # 2) Decide what changed by content hash.
    todo: list[tuple[str, bytes]] = []
    unchanged = 0
    for rel, path in files.items():
        raw = path.read_bytes()
        old = known.get(rel)
        if not full and old and old.sha256 == content_hash(raw) and old.kb_set == kb_set_for(rel):
            unchanged += 1
        else:
            todo.append((rel, raw))
    removed = [rel for rel in known if rel not in files]
    for rel in removed:
        store.delete_document(rel)
    # 3) Parse, embed and store the new and changed documents.
    bar = tqdm(todo, desc="indexing", unit="doc", disable=not progress or len(todo) < 2)
    for rel, raw in bar:
        try:
            doc = parse_document(rel, raw)
        except (UnicodeError, ValueError) as err:
            logger.warning("skipped %s: %s", rel, err)
            continue
        _store_document(store, embedder, doc, kb_set_for(rel))
    store.set_meta("embedder", embedder.name)
    store.set_meta("tokenizer", TOKENIZER)
    added = sum(1 for rel, _ in todo if rel not in known)
    report = IngestReport(added, len(todo) - added, len(removed), unchanged, store.count_passages())
    logger.info("ingest %s: %s", root, report.summary())
    return report


def passage_context(title: str, heading: str) -> str:
    """The line that situates a passage: title, and heading when it says something more."""
    return title if not heading or heading == title else f"{title} › {heading}"


def _store_document(store: IndexStore, embedder: Embedder, doc: Document, kb_set: str) -> None:
    texts = [f"{passage_context(doc.title, c.heading)}\n{c.text}" for c in doc.chunks]
    if not texts:
        store.replace_document(doc.path, kb_set, doc.title, doc.url, doc.sha256, [])
        return
    vectors = embedder.encode(texts)
    passages = [
        NewPassage(c.heading, c.text, " ".join(tokens(text)), vec)
        for c, text, vec in zip(doc.chunks, texts, vectors, strict=True)
    ]
    store.replace_document(doc.path, kb_set, doc.title, doc.url, doc.sha256, passages)


def _hidden(rel: Path) -> bool:
    return any(part.startswith((".", "_")) for part in rel.parts)
