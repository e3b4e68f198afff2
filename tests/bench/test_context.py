"""`deskhand bench context`, small, on the tiny model: the JSON it prints, and that building
a long thread's prompt tokenizes about the window once, not the whole thread."""

from __future__ import annotations

import json

import pytest

from deskhand.cli import main


def test_bench_context_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bench", "context", "--json", "--model", "tiny", "--replies", "400", "--repeat", "1"]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["bench"] == "context" and result["replies"] == 400
    assert result["prompt_tokens"] <= result["budget_tokens"]
    assert result["window_chars"] < result["thread_chars"] / 3 and result["turns_omitted"] > 50
    assert result["tokenized_chars"] < result["thread_chars"] / 10
    assert result["tokenizer_calls"] < 50
