"""The part of a message that asks: its question sentences, apart from the story before them.

Owns splitting a chat message into sentences and picking those that ask (end with a
question mark, or open with an interrogative or a modal verb). Users tell what happened
first ("my manager left last week and ...") and ask last; retrieval searches with the
whole message and with this focus, so neither the story nor the question is lost.
Pure: no model, no index.
"""

from __future__ import annotations

import re

from kb.text import cjk_ratio

_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[。！？])")
_ASKS = re.compile(
    r"^(?:(?:so|and|but|ok|okay|also|then|well|hey|hi)\b[\s,]*)*"
    r"(?:how|what|whats|what's|which|who|whom|whose|when|where|why|is|are|was|were|do|does|"
    r"did|can|could|would|will|should|shall|may|might|must|if|any|anyway|there)\b",
    re.I,
)
MIN_WORDS = 3


def question_focus(message: str) -> str | None:
    """The message's asking sentences when it also has others (a story, a greeting), else
    None. A message that is one sentence, or all questions, needs no focus."""
    if cjk_ratio(message) > 0.3:
        return None
    sentences = [s.strip() for s in _SPLIT.split(message.strip()) if s and s.strip()]
    if len(sentences) < 2:
        return None
    asking = [s for s in sentences if s.endswith("?") or _ASKS.match(s)]
    asking = [s for s in asking if len(s.split()) >= MIN_WORDS]
    if not asking or len(asking) == len(sentences):
        return None
    return " ".join(asking)
