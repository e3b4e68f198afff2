"""Deskhand's knowledge base: ingest, hybrid retrieval, grounded answers, feedback, eval.

The bot uses `SupportDesk` (prepare -> its own engine.submit -> finalize) and
`render_sources`; everything else is internal. Torch loads only with the embedder.
"""

from kb.answer import render_sources
from kb.desk import SupportDesk
from kb.feedback import GapRow
from kb.ingest import IngestReport
from kb.types import AnswerPlan, FinalAnswer, Passage, Quote, Source

__all__ = [
    "AnswerPlan",
    "FinalAnswer",
    "GapRow",
    "IngestReport",
    "Passage",
    "Quote",
    "Source",
    "SupportDesk",
    "render_sources",
]
