"""KbConfig: what the knowledge base is told — where the articles and the index are, how
channels map to knowledge sets and answer modes, and the thresholds and sizes of an answer.

A frozen dataclass with no defaults of its own: the app's settings project it
(`Settings.kb_config()`), so environment names and defaults live in one place. Field names are
the settings' own (KB_TOP_K is `kb_top_k`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class KbConfig:
    kb_dir: Path | None  # the articles; None: only what is already indexed
    kb_index: Path  # the SQLite index
    kb_channel_sets: str  # "channel=set,…": the knowledge sets a channel answers from
    kb_default_set: str  # the set for DMs and unbound channels; "": all sets
    channel_modes: str  # "C123=kb,C456=assistant,dm=auto,default=auto"
    kb_embedding_model: Path | None  # None: the packaged all-MiniLM-L6-v2
    kb_top_k: int  # passages retrieved into the prompt
    kb_answer_min_score: float  # evidence score for a confident answer
    kb_hedge_min_score: float  # below it: a plain don't-know and a hand-off
    kb_max_new_tokens: int  # the model writes one sentence
    kb_standalone: Literal["rules", "model"]  # how follow-ups are made standalone
    kb_answer_style: Literal["quotes", "abstractive"]
    handoff_mention: str  # who "Ask a human" pings, e.g. <!subteam^S123>
    feedback_url: str  # the database feedback is kept in
    system_prompt: str  # the general assistant's (`deskhand ask` off the knowledge base)
    max_new_tokens: int  # the general assistant's answer length
