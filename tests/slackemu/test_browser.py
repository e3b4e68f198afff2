"""A real browser (headless Debian Chromium via Playwright) using the UI: post in #support,
watch a streamed bot reply grow in the thread, click a button. Saves artifacts/sandbox.png."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slackemu import Sandbox

from .helpers import bolt_app, socket_mode

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER = [
    "To reset your **password**:\n\n",
    "1. Open *Settings → Security*\n",
    "2. Click `Reset password`\n\n",
    "```\nvpn reset --user ada\n```\n",
    "> See <https://intranet.example/vpn|the VPN guide> for details.",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install -y chromium)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="needs the playwright package (pip install playwright)",
    ),
]


@pytest.fixture
def streaming_bot() -> Iterator[Sandbox]:
    """A wall-clock sandbox with a Bolt app that streams its answers and offers buttons."""
    sb = Sandbox.start()
    app = bolt_app(sb)

    @app.event("app_mention")
    def answer(event: dict, client: Any) -> None:
        thread_ts = event.get("thread_ts") or event["ts"]
        client.assistant_threads_setStatus(
            channel_id=event["channel"], thread_ts=thread_ts, status="is thinking…"
        )
        time.sleep(0.4)
        stream = client.chat_startStream(
            channel=event["channel"],
            thread_ts=thread_ts,
            recipient_user_id=event["user"],
            recipient_team_id=event["team"],
        )
        for part in ANSWER:
            time.sleep(0.35)
            client.chat_appendStream(channel=event["channel"], ts=stream["ts"], markdown_text=part)
        client.chat_stopStream(
            channel=event["channel"],
            ts=stream["ts"],
            blocks=[
                {
                    "type": "context_actions",
                    "elements": [
                        {
                            "type": "feedback_buttons",
                            "action_id": "feedback",
                            "positive_button": {
                                "text": {"type": "plain_text", "text": "Good"},
                                "value": "good",
                            },
                            "negative_button": {
                                "text": {"type": "plain_text", "text": "Bad"},
                                "value": "bad",
                            },
                        }
                    ],
                },
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "share",
                            "value": "share",
                            "text": {"type": "plain_text", "text": "Share to channel"},
                        },
                        {
                            "type": "button",
                            "action_id": "ask_human",
                            "style": "primary",
                            "text": {"type": "plain_text", "text": "Ask a human"},
                        },
                    ],
                },
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": "Sources: *vpn.md* · answered by Deskhand"}
                    ],
                },
            ],
        )

    @app.action("ask_human")
    def ask_human(ack: Any, respond: Any) -> None:
        ack()
        respond(text="OK, I've asked the support team to take a look.", replace_original=False)

    with socket_mode(sb, app):
        try:
            yield sb
        finally:
            problems = sb.violations()
            sb.stop()
    assert not problems


def test_a_newcomer_asks_the_bot_in_the_browser(streaming_bot: Sandbox) -> None:
    from playwright.sync_api import sync_playwright

    sb = streaming_bot
    sb.post_message("grace", "support", "Morning! Anyone else seeing VPN drops today?")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{sb.url}/?channel={sb.channel_id('support')}&as={sb.user_id('ada')}")
            assert (
                page.locator(".banner")
                .inner_text()
                .startswith("Local Slack emulator — not connected to Slack")
            )
            # 1) Type a question the way a newcomer would: @-autocomplete, then Enter.
            page.fill("#composer-text", "@Desk")
            page.wait_for_selector("#autocomplete .opt")
            page.keyboard.press("Enter")
            page.type("#composer-text", "how do I reset my VPN password?")
            page.keyboard.press("Enter")
            page.wait_for_selector("#messages [data-open-thread] .count", timeout=10_000)
            # 2) Open the thread and watch the streamed reply grow.
            page.click("#messages .replies-link")
            reply = page.locator("#thread-messages .msg").nth(1)
            lengths = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if reply.count():
                    lengths.append(len(reply.locator(".msg-body").inner_text()))
                    if (
                        page.locator("#thread-messages .msg.streaming").count() == 0
                        and page.locator("#thread-messages [data-action-id]").count()
                    ):
                        break
                time.sleep(0.1)
            assert len(set(lengths)) >= 3 and lengths == sorted(lengths), lengths
            body = reply.locator(".msg-body")
            assert body.locator("strong").first.inner_text() == "password"
            assert body.locator("pre").inner_text().strip() == "vpn reset --user ada"
            # 3) Buttons work: the click reaches the app, its answer is shown only to Ada.
            page.click("#thread-messages button[data-action-id=ask_human]")
            page.wait_for_selector("#thread-messages .ephemeral", timeout=10_000)
            assert "Only visible to you" in page.locator("#thread-messages .ephemeral").inner_text()
            page.screenshot(path=str(ARTIFACTS / "sandbox.png"))
        finally:
            browser.close()
    thread = sb.thread("support", sb.messages("support")[-1]["ts"])
    assert thread[0]["text"] == f"<@{sb.bot_user_id}> how do I reset my VPN password?"
    assert thread[1]["text"] == "".join(ANSWER)
