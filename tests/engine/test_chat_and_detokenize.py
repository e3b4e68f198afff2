"""Prompt formatting, stop tokens and incremental detokenization (tokenizer only, no model)."""

from __future__ import annotations

import pytest

from engine.chat import ChatFormat
from engine.detokenize import IncrementalDetokenizer
from engine.testing import make_byte_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return make_byte_tokenizer()


def test_chat_template_ends_where_the_assistant_answer_begins(tokenizer) -> None:
    chat = ChatFormat(tokenizer)
    ids = chat.encode(
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    )
    text = tokenizer.decode(ids)
    assert text.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>system\nbe brief<|im_end|>" in text


def test_end_of_turn_marker_is_a_stop_token(tokenizer) -> None:
    chat = ChatFormat(tokenizer)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in chat.stop_token_ids


def test_model_without_template_gets_a_plain_transcript(tokenizer) -> None:
    tokenizer = make_byte_tokenizer()
    tokenizer.chat_template = None
    chat = ChatFormat(tokenizer)
    text = tokenizer.decode(chat.encode([{"role": "user", "content": "hello"}]))
    assert text.endswith("User: hello\nAssistant:")


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "robot", "content": "x"}], [{"role": "user", "content": 3}], ["hello"]],
)
def test_malformed_messages_are_refused_clearly(tokenizer, messages) -> None:
    with pytest.raises(ValueError, match="messages"):
        ChatFormat(tokenizer).encode(messages)


def test_deltas_never_split_a_multibyte_character(tokenizer) -> None:
    text = "Grüße 你好 🚲 ok"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert len(ids) == len(text.encode("utf-8"))  # one token per byte: characters span tokens
    detok = IncrementalDetokenizer(tokenizer)
    deltas = [detok.add(i) for i in ids]
    assert "".join(deltas) == text
    assert all("\ufffd" not in d for d in deltas)
    assert "" in deltas  # some tokens complete no character on their own
    final, tail = detok.finish(ids)
    assert final == text and tail == ""


def test_an_incomplete_character_at_the_end_is_still_delivered(tokenizer) -> None:
    ids = (
        tokenizer.encode("ab", add_special_tokens=False)
        + tokenizer.encode("你", add_special_tokens=False)[:2]
    )
    detok = IncrementalDetokenizer(tokenizer)
    streamed = "".join(detok.add(i) for i in ids)
    final, tail = detok.finish(ids)
    assert streamed == "ab"
    assert streamed + tail == final and final.startswith("ab") and final.endswith("\ufffd")
