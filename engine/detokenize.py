"""Incremental detokenization: token ids in, correct text deltas out.

A character can span several tokens (UTF-8 bytes split by byte-level BPE) and some
tokenizers render a token differently depending on its left neighbour. So each new token
is decoded together with a short window before it, and text is released only once it no
longer ends in an incomplete character (U+FFFD), as vLLM and TGI do.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"


class IncrementalDetokenizer:
    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix_offset = 0
        self.read_offset = 0
        self.emitted = ""

    def add(self, token_id: int) -> str:
        """Add one token; return the text it completes (often "", sometimes several chars)."""
        self.ids.append(token_id)
        decode = self.tokenizer.decode
        prefix = decode(self.ids[self.prefix_offset : self.read_offset], skip_special_tokens=True)
        text = decode(self.ids[self.prefix_offset :], skip_special_tokens=True)
        if len(text) > len(prefix) and not text.endswith(REPLACEMENT):
            delta = text[len(prefix) :]
            self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
            self.emitted += delta
            return delta
        return ""

    def finish(self, ids: list[int]) -> tuple[str, str]:
        """Final (text, remaining delta) for the kept `ids`; the deltas then add up to text."""
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        if text.startswith(self.emitted):
            return text, text[len(self.emitted) :]
        return self.emitted, ""  # rare: a stop token removed text already sent; keep what was shown
