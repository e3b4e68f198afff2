"""`deskhand chat`: the terminal conversation streams answers from the real default model."""

from __future__ import annotations

import io

import pytest

from deskhand.chat import run_chat
from deskhand.settings import Settings


@pytest.mark.slow
def test_chat_streams_an_answer_and_keeps_the_conversation() -> None:
    stdin = io.StringIO("What is the capital of France?\nAnd of Italy?\n/stats\n/exit\n")
    stdout = io.StringIO()
    settings = Settings(device="cpu", max_new_tokens=40, _env_file=None)
    assert run_chat(settings, stdin=stdin, stdout=stdout) == 0
    out = stdout.getvalue()
    assert out.count("deskhand> ") == 2
    assert "Paris" in out
    assert "requests_finished=2" in out  # /stats after two answers
