"""Hybrid retrieval in English and Chinese, and knowledge sets per channel."""

import numpy as np

from kb.desk import SupportDesk
from kb.embedder import Embedder


def _top_doc(desk: SupportDesk, query: str, sets: frozenset[str] | None = None) -> str:
    return desk.retriever.search(query, sets=sets, k=3)[0].passage.doc_path


def test_english_question_finds_its_document(desk: SupportDesk) -> None:
    assert _top_doc(desk, "my thermostat screen shows E27") == "thermostat-error-codes.html"
    assert _top_doc(desk, "how often do I replace the HEPA cartridge") == "purifier-filters.md"


def test_paraphrase_relies_on_the_dense_side(desk: SupportDesk) -> None:
    hits = desk.retriever.search("the purifier keeps me awake, how loud is it at night?", k=3)
    assert hits[0].passage.doc_path == "purifier-filters.md"
    assert "Noise levels" in [h.passage.heading for h in hits]


def test_chinese_question_finds_the_chinese_document(desk: SupportDesk) -> None:
    assert _top_doc(desk, "设备恢复出厂设置需要按住复位键多久？") == "zh-app-pairing.md"


def test_chinese_question_about_an_english_document(desk: SupportDesk) -> None:
    assert _top_doc(desk, "CareShield Plus 一次性付款多少钱？") == "care-plan.md"


def test_sets_restrict_the_search(desk: SupportDesk) -> None:
    assert desk.retriever.search("E27 error code", sets=frozenset({"billing"}), k=3) == []
    assert desk.sets_for("CBILL") == frozenset({"billing"})
    assert desk.sets_for(None) is None and desk.sets_for("COTHER") is None


def test_batched_embeddings_keep_their_order_whatever_the_lengths(embedder) -> None:
    texts = ["a much longer sentence about replacing the HEPA cartridge every six months",
             "E27", "how loud is the purifier at night?"]  # fmt: skip
    together = embedder.encode(texts)
    fresh = Embedder(embedder.model_dir)  # no cache: each text encoded alone
    alone = np.stack([fresh.encode([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
