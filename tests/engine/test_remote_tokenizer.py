"""The remote engine's tokenizer (tokenizers + Jinja2, no torch) counts exactly what
transformers counts for the same model, chat template included."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import ModelLoadError
from engine.chat import ChatFormat
from engine.remote.tokenizer import TextTokenizer, load_tokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "How do I reset my password?"}],
    [
        {"role": "system", "content": "You are Deskhand."},
        {"role": "user", "content": "héllo wörld 🎉 <b>bold</b>\n\n  indented\ttab"},
        {"role": "assistant", "content": "Hi! ñ 日本語"},
        {"role": "user", "content": "<|im_end|> is not a turn end here? ```code```"},
    ],
]


def test_chat_prompts_encode_exactly_as_transformers_does(tokenizer: TextTokenizer) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(tokenizer.directory))
    ours, theirs = ChatFormat(tokenizer), ChatFormat(reference)
    for conversation in CONVERSATIONS:
        assert ours.encode(conversation) == theirs.encode(conversation)  # type: ignore[arg-type]
    assert ours.stop_token_ids == theirs.stop_token_ids
    text = CONVERSATIONS[1][1]["content"]
    assert tokenizer.encode(text, False) == reference.encode(text, add_special_tokens=False)
    ids = ours.encode(CONVERSATIONS[1])  # type: ignore[arg-type]
    assert tokenizer.decode(ids) == reference.decode(ids, skip_special_tokens=True)


def test_a_directory_without_tokenizer_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="ENGINE_TOKENIZER"):
        load_tokenizer(str(tmp_path), tmp_path)
    with pytest.raises(ModelLoadError, match="ENGINE_TOKENIZER"):
        load_tokenizer(str(tmp_path / "missing"), tmp_path)


def test_a_tokenizer_directory_loads(tokenizer: TextTokenizer, tmp_path: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        source = tokenizer.directory / name
        if source.is_file():
            (tmp_path / name).write_bytes(source.read_bytes())
    copy = load_tokenizer(str(tmp_path), tmp_path / "cache")
    conversation = CONVERSATIONS[0]
    assert ChatFormat(copy).encode(conversation) == ChatFormat(tokenizer).encode(conversation)  # type: ignore[arg-type]
