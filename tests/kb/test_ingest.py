"""Incremental ingest: content hashes decide what is re-indexed; deleted files leave."""

from pathlib import Path

from kb.embedder import Embedder
from kb.ingest import ingest_dir
from kb.retrieval import Retriever
from kb.store import IndexStore


def _docs(store: IndexStore) -> set[str]:
    return set(store.documents())


def test_first_ingest_indexes_every_supported_file(
    kb_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    (kb_copy / "notes.pdf").write_bytes(b"%PDF ignored")
    store = IndexStore(tmp_path / "i.sqlite")
    report = ingest_dir(kb_copy, store, embedder)
    assert (report.added, report.updated, report.removed) == (8, 0, 0)
    assert "thermostat-error-codes.html" in _docs(store) and "notes.pdf" not in _docs(store)
    assert report.passages == store.count_passages() > 8


def test_reingest_skips_unchanged_updates_changed_and_removes_deleted(
    kb_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "i.sqlite"
    ingest_dir(kb_copy, IndexStore(path), embedder)
    # 1) Nothing changed: nothing re-indexed (the index persists across opens).
    again = ingest_dir(kb_copy, IndexStore(path), embedder)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 8)
    # 2) One file changed, one deleted, one added.
    shipping = kb_copy / "shipping.md"
    shipping.write_text(shipping.read_text().replace("Quillpost", "Zephyrline Freight"))
    (kb_copy / "care-plan.md").unlink()
    (kb_copy / "new.md").write_text("# Gift cards\n\nGift cards never expire.\n")
    store = IndexStore(path)
    report = ingest_dir(kb_copy, store, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 6)
    retriever = Retriever(store, embedder)
    top = retriever.search("which courier is Zephyrline Freight", k=1)[0]
    assert top.passage.doc_path == "shipping.md" and "Zephyrline" in top.passage.text
    assert "care-plan.md" not in _docs(store)
    assert all(
        h.passage.doc_path != "care-plan.md"
        for h in retriever.search("CareShield protection plan prices", k=10)
    )


def test_subfolders_name_knowledge_sets(tmp_path: Path, embedder: Embedder) -> None:
    root = tmp_path / "kb"
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "invoices.md").write_text("# Invoices\n\nInvoices are emailed monthly.\n")
    (root / "faq.md").write_text("# FAQ\n\nWe answer within a day.\n")
    store = IndexStore(tmp_path / "i.sqlite")
    ingest_dir(root, store, embedder)
    assert {d.path: d.kb_set for d in store.documents().values()} == {
        "billing/invoices.md": "billing",
        "faq.md": "default",
    }
