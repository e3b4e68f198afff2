"""Chat messages to prompt tokens, and the tokens that end the model's turn.

Uses the model's own chat template; a model without one gets a plain transcript format.
Needs only the tokenizer (no torch), so callers can count tokens on their own threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.types import ChatMessage

ROLES = frozenset({"system", "user", "assistant"})
END_OF_TURN_MARKERS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")


class ChatFormat:
    """Formats conversations for one tokenizer and knows its stop tokens."""

    def __init__(self, tokenizer: Any, eos_token_ids: Sequence[int] = ()) -> None:
        self.tokenizer = tokenizer
        self.has_template = bool(getattr(tokenizer, "chat_template", None))
        stops = set(eos_token_ids)
        if tokenizer.eos_token_id is not None:
            stops.add(int(tokenizer.eos_token_id))
        vocab = tokenizer.get_vocab()
        stops.update(vocab[m] for m in END_OF_TURN_MARKERS if m in vocab)
        self.stop_token_ids = frozenset(stops)

    def encode(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Prompt token ids for `messages`, ending where the assistant's answer begins."""
        validate_messages(messages)
        if self.has_template:
            ids = self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, tokenize=True
            )
            if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
                ids = ids["input_ids"]
            return list(ids)
        text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages)
        return list(self.tokenizer.encode(text + "Assistant:", add_special_tokens=True))


def validate_messages(messages: Sequence[ChatMessage]) -> None:
    if not messages:
        raise ValueError("messages is empty")
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or m.get("role") not in ROLES
            or not isinstance(m.get("content"), str)
        ):
            raise ValueError(
                f"messages[{i}] must be {{'role': system|user|assistant, 'content': str}}"
            )
