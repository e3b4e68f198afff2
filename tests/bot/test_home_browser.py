"""A real browser (headless Chromium via Playwright) opens the bot's Home tab in the local
workspace: the page sends app_home_opened, the real bot publishes its usage view, and the
numbers appear live. Saves artifacts/app-home.png."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.bot.test_usage import recorded
from tests.helpers import wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

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


def test_home_tab_shows_the_usage_numbers(workspace, run_bot, tiny_engine) -> None:
    from playwright.sync_api import sync_playwright

    bot = run_bot(workspace, tiny_engine, cost_per_hour=2.0)
    for i in range(3):
        ts = workspace.mention("ada", "support", f"question {i}")
        workspace.wait_for_reply("support", ts, timeout=30)
    rows = recorded(bot, 3)
    tokens_in = f"{sum(r.prompt_tokens for r in rows):,} in"
    ARTIFACTS.mkdir(exist_ok=True)
    dm, ada = workspace.dm_channel("ada"), workspace.user_id("ada")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{workspace.url}/?channel={dm}&as={ada}")
            page.click("#tab-home")  # Messages -> Home, as a person would
            page.wait_for_selector("#home .blk-header", timeout=20_000)
            home = page.locator("#home")
            assert "What Deskhand's answers cost" in home.inner_text()
            fields = home.locator(".blk-section").nth(0).locator(".blk-fields > div")
            texts = [fields.nth(i).inner_text() for i in range(fields.count())]
            assert texts[0].split() == ["Answers", "3"], texts
            assert tokens_in in texts[1], texts
            assert "$2.00 per hour" in home.inner_text()
            assert "answers/hour" in home.locator("pre").inner_text()
            assert page.locator("#messages").is_hidden() and page.locator("#composer").is_hidden()
            page.screenshot(path=str(ARTIFACTS / "app-home.png"))
        finally:
            browser.close()
    opened = [
        d
        for d in workspace.deliveries("events_api")
        if d.payload.get("event", {}).get("type") == "app_home_opened"
    ]
    assert len(opened) == 1 and opened[0].payload["event"]["user"] == ada
    wait_until(lambda: workspace.calls("views.publish"), interval=0.05)
    assert [c.ok for c in workspace.calls("views.publish")] == [True]
