"""HTML rendering for the UI: Slack mrkdwn, Markdown, blocks; nothing unescaped gets through."""

from __future__ import annotations

import pytest

from slackemu import FakeClock
from slackemu.manifest import app_config_from_manifest, load_manifest
from slackemu.render import render_block, render_body, render_markdown, render_mrkdwn
from slackemu.seed import DEFAULT_SEED, build_workspace
from slackemu.state import Workspace


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return build_workspace(DEFAULT_SEED, app_config_from_manifest(load_manifest(None)), FakeClock())


EVIL = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[x](javascript:alert(1))",
    "<javascript:alert(1)|click>",
]


@pytest.mark.parametrize("text", EVIL)
def test_nothing_executable_survives(ws: Workspace, text: str) -> None:
    for html in (
        render_mrkdwn(text, ws),
        render_markdown(text, ws),
        render_block({"type": "section", "text": {"type": "mrkdwn", "text": text}}, ws),
        render_block({"type": "header", "text": {"type": "plain_text", "text": text}}, ws),
    ):
        lowered = str(html).lower()
        assert "<script" not in lowered and "<img" not in lowered and "<svg" not in lowered
        assert 'href="javascript' not in lowered


def test_mrkdwn(ws: Workspace) -> None:
    ada = ws.user("ada").id
    html = str(
        render_mrkdwn(
            f"*bold* _it_ ~gone~ `x<y` <@{ada}> <https://a.test|docs>\n"
            "&gt; quoted\n```\nif a &lt; b:\n  pass\n```",
            ws,
        )
    )
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<del>gone</del>" in html
    assert "<code>x&lt;y</code>" in html
    assert '<span class="mention">@Ada</span>' in html
    assert '<a href="https://a.test" target="_blank" rel="noopener noreferrer">docs</a>' in html
    assert "<blockquote>quoted</blockquote>" in html
    assert "<pre><code>if a &lt; b:\n  pass</code></pre>" in html


def test_markdown(ws: Workspace) -> None:
    html = str(
        render_markdown(
            "# Title\n\n**bold** and *it* and ~~old~~, [link](https://a.test)"
            "\n\n- one\n- two\n\n1. first\n2. second\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```",
            ws,
        )
    )
    assert '<div class="md-h">Title</div>' in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<del>old</del>" in html
    assert '<a href="https://a.test"' in html
    assert "<ul><li" in html and '<ol start="1">' in html
    assert "<table><thead><tr><th>a</th><th>b</th></tr></thead>" in html
    assert "<pre><code>x = 1</code></pre>" in html


def test_unfinished_code_fence_while_streaming(ws: Workspace) -> None:
    html = str(render_markdown("Here:\n```\nprint('hi')", ws))
    assert "<pre><code>print(&#39;hi&#39;)</code></pre>" in html


def test_blocks_render_buttons_and_context(ws: Workspace) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Answer"}},
        {
            "type": "actions",
            "block_id": "b1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "share",
                    "value": "v",
                    "text": {"type": "plain_text", "text": "Share to channel"},
                    "style": "primary",
                }
            ],
        },
        {
            "type": "context_actions",
            "elements": [
                {
                    "type": "feedback_buttons",
                    "action_id": "fb",
                    "positive_button": {
                        "text": {"type": "plain_text", "text": "Good"},
                        "value": "up",
                    },
                    "negative_button": {
                        "text": {"type": "plain_text", "text": "Bad"},
                        "value": "dn",
                    },
                }
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sources: *kb*"}]},
        {"type": "video"},
    ]
    html = str(render_body("fallback", blocks, False, ws))
    assert "fallback" not in html
    assert 'data-action-id="share"' in html and 'class="btn primary"' in html
    assert html.count('data-action-id="fb"') == 2 and 'data-value="dn"' in html
    assert '<div class="blk blk-context">' in html and "<strong>kb</strong>" in html
    assert "[video block]" in html
