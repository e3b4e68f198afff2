"""Model Markdown made safe for Slack, on a stream, and cut into messages."""

from __future__ import annotations

import random

import pytest

from bot.slack.ephemeral_reply import split_parts
from bot.slack.formatting import (
    ZWSP,
    MarkdownSanitizer,
    choose_cut,
    open_fence,
    sanitize,
)

CASES = {
    "Hi <!channel> and <!here|@here>": f"Hi @{ZWSP}channel and @{ZWSP}here",
    "ping <!everyone> <@U123> <@U9|bob>": f"ping @{ZWSP}everyone @{ZWSP}U123 @{ZWSP}bob",
    "team <!subteam^S1|@devs> in <#C1|general>": f"team @{ZWSP}devs in #general",
    "plain @channel @here @everyone, not @bob": (
        f"plain @{ZWSP}channel @{ZWSP}here @{ZWSP}everyone, not @bob"
    ),
    "**bold** _it_ ~~no~~ [link](https://x.com)": "**bold** _it_ ~~no~~ [link](https://x.com)",
    "<https://y.com|Y> and <https://z.com>": "[Y](https://y.com) and https://z.com",
    "> quote\n- one\n1. two": "> quote\n- one\n1. two",
    "a < b && c > d <br>": "a &lt; b &amp;&amp; c > d &lt;br&gt;",
    "inline `a < b && <!here>` code": f"inline `a < b && <{ZWSP}!here>` code",
    "```py\nif a < b & c:\n    print('<@U1>')\n```\nafter & <x>": (
        f"```py\nif a < b & c:\n    print('<{ZWSP}@U1>')\n```\nafter &amp; &lt;x&gt;"
    ),
}


@pytest.mark.parametrize(("raw", "safe"), CASES.items())
def test_sanitize_neutralises_mentions_and_keeps_markdown(raw: str, safe: str) -> None:
    assert sanitize(raw) == safe


@pytest.mark.parametrize("raw", CASES)
def test_streaming_in_any_pieces_gives_the_same_text(raw: str) -> None:
    rng = random.Random(raw)
    for _ in range(30):
        sanitizer, out, i = MarkdownSanitizer(), "", 0
        while i < len(raw):
            size = rng.randint(1, 5)
            out += sanitizer.feed(raw[i : i + size])
            i += size
        assert out + sanitizer.finish() == sanitize(raw)


def test_open_fence_tracks_code_blocks() -> None:
    assert open_fence("text\n```python\ncode") == "python"
    assert open_fence("```\ncode\n```\n") is None
    assert open_fence("```\nstill open") == ""


def test_cuts_prefer_paragraphs_then_lines_then_spaces() -> None:
    text = "a" * 50 + "\n\n" + "b" * 30 + "\n" + "c" * 10 + " " + "d" * 40
    assert choose_cut(text, 60) == 52  # after the blank line
    assert choose_cut(text, 90, floor=60) == 83  # after the line end
    assert choose_cut("x" * 100, 60) == 60  # no break at all: hard cut
    assert choose_cut(text, 60, floor=55) == 60  # never before what is already sent


def test_split_parts_closes_and_reopens_code_blocks() -> None:
    code = "```python\n" + "\n".join(f"line {i}" for i in range(100)) + "\n```"
    parts = split_parts("Intro.\n\n" + code + "\n\nOutro.", 300)
    assert len(parts) > 2
    assert all(len(p) <= 300 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    assert parts[1].startswith("```python\n")
