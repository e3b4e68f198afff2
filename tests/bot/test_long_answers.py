"""Long answers arrive whole, in several messages within Slack's limits, and what the model
writes renders as Markdown with its mentions and broadcasts neutralised."""

from __future__ import annotations

import re

import pytest

from bot.slack.formatting import ZWSP
from tests.bot.helpers import answers, payload, shown_text


def long_answer() -> str:
    """About 10,000 characters: paragraphs, a list, and a long code block."""
    paragraphs = [
        f"Paragraph {i}: " + " ".join(f"word{i}_{j}" for j in range(40)) for i in range(16)
    ]
    code = (
        "```python\n" + "\n".join(f"print('line {i}')  # a < b && c" for i in range(120)) + "\n```"
    )
    items = "\n".join(f"- item {i}" for i in range(30))
    text = "\n\n".join([*paragraphs[:8], code, items, *paragraphs[8:]])
    assert 9_500 <= len(text) <= 11_000
    return text


def without_fence_repairs(parts: list[str]) -> str:
    """The parts joined, minus the ``` lines added to close and reopen a cut code block."""
    joined = []
    for index, part in enumerate(parts):
        lines = part.split("\n")
        if index > 0 and lines[0].startswith("```") and parts[index - 1].endswith("\n```"):
            lines = lines[1:]
        if index < len(parts) - 1 and lines[-1] == "```" and parts[index + 1].startswith("```"):
            lines = lines[:-1]
            lines[-1] += "\n" if lines and lines[-1] else ""
        joined.append("\n".join(lines))
    return "".join(joined)


@pytest.mark.parametrize("stream_mode", ["auto", "update"])
def test_a_10000_character_answer_arrives_whole_in_several_messages(
    workspace, run_bot, script, scripted_engine, stream_mode
):
    text = long_answer()
    script.answer = lambda turns: text
    run_bot(workspace, scripted_engine, stream_mode=stream_mode)
    ts = workspace.mention("ada", "support", "tell me everything")
    workspace.wait_for(
        lambda: (
            len(answers(workspace, "support", ts)) >= 3
            and workspace.wait_for_reply("support", ts, timeout=30)
        ),
        timeout=40,
    )
    parts = answers(workspace, "support", ts)
    assert [payload(m)["part"] for m in parts] == list(range(len(parts)))
    shown = [shown_text(m) for m in parts]
    assert all(len(s) <= 4_000 for s in shown)
    assert all(s.count("```") % 2 == 0 for s in shown), "every part closes its code block"
    assert re.sub(r"\n+", "\n", without_fence_repairs(shown)).replace("&amp;", "&").replace(
        "&lt;", "<"
    ) == re.sub(r"\n+", "\n", text)


def test_markdown_survives_and_mentions_are_neutralised(
    workspace, run_bot, script, scripted_engine
):
    hostile = (
        "**Bold** and _italic_, a [link](https://example.com), `a < b` and\n\n"
        "- one\n- two\n\n```sh\necho '<!here>' && ls\n```\n\n"
        f"Hey <!channel> and <!here> and <!everyone>, ask <@{'U0ADMIN1'}> or @here."
    )
    script.answer = lambda turns: hostile
    run_bot(workspace, scripted_engine)
    ts = workspace.mention("ada", "support", "format something")
    reply = workspace.wait_for_reply("support", ts, timeout=30)
    text = shown_text(reply)
    for token in ("<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN1>"):
        assert token not in text
    assert f"@{ZWSP}channel" in text and f"@{ZWSP}here" in text and f"@{ZWSP}U0ADMIN1" in text
    assert "**Bold** and _italic_, a [link](https://example.com), `a < b` and" in text
    assert "- one\n- two" in text
    assert "```sh\necho '<" + ZWSP + "!here>' && ls\n```" in text
