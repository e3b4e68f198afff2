"""The browser UI's server side: page, fragments, SSE, control API, permalinks."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import aiohttp

from slackemu import Sandbox


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url) as response:
        return response.status, response.read().decode()


def _post(
    sb: Sandbox, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{sb.url}/_sandbox/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_page_shows_the_workspace(sandbox: Sandbox) -> None:
    sandbox.post_message("grace", "support", "Hello <b>there</b>")
    status, html = _get(f"{sandbox.url}/?channel={sandbox.channel_id('support')}")
    assert status == 200
    assert "Local Slack emulator — not connected to Slack" in html
    assert "Deskhand Sandbox" in html and "# support" in html and "#</span>general" in html
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in html and "<b>there</b>" not in html


def test_control_api_mirrors_the_python_api(sandbox: Sandbox) -> None:
    status, posted = _post(
        sandbox, "post", {"user": "ada", "channel": "support", "text": "hey @Deskhand, help"}
    )
    assert status == 200 and posted["ok"]
    message = sandbox.messages("support")[-1]
    assert message["text"] == f"hey <@{sandbox.bot_user_id}>, help"  # @Name → mention
    assert [d.event_type for d in sandbox.deliveries()] == ["message", "app_mention"]
    state = json.loads(_get(f"{sandbox.url}/_sandbox/state")[1])
    assert {c["name"] for c in state["channels"] if c["kind"] == "channel"} == {
        "general",
        "support",
    }
    status, error = _post(sandbox, "post", {"user": "nobody", "channel": "support", "text": "x"})
    assert status == 400 and "no such user" in error["error"]


def test_cross_origin_posts_are_refused(sandbox: Sandbox) -> None:
    status, _ = _post(
        sandbox,
        "post",
        {"user": "ada", "channel": "support", "text": "x"},
        {"Origin": "https://evil.example"},
    )
    assert status == 403
    assert sandbox.messages("support") == []


def test_thread_fragment_and_permalink(sandbox: Sandbox) -> None:
    parent = sandbox.post_message("ada", "support", "question")
    sandbox.post_message("grace", "support", "answer", thread_ts=parent)
    query = f"channel={sandbox.channel_id('support')}&ts={parent}"
    fragment = json.loads(_get(f"{sandbox.url}/_sandbox/ui/thread?{query}")[1])
    assert fragment["ts"] == parent and "answer" in fragment["html"]
    request = urllib.request.Request(
        f"{sandbox.url}/archives/{sandbox.channel_id('support')}/p{parent.replace('.', '')}"
    )
    with urllib.request.urlopen(request) as response:  # follows the redirect to the page
        assert response.url.endswith(f"/?channel={sandbox.channel_id('support')}")


def test_server_sent_events_push_rendered_changes(sandbox: Sandbox) -> None:
    async def listen() -> list[dict]:
        received: list[dict] = []
        url = f"{sandbox.url}/_sandbox/events?as=ada"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            await response.content.readline()  # ": connected"
            await asyncio.get_running_loop().run_in_executor(
                None, sandbox.post_message, "grace", "support", "*live*"
            )
            while len(received) < 1:
                line = (await response.content.readline()).decode()
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
        return received

    (change,) = asyncio.run(listen())
    assert change["kind"] == "message" and change["channel"] == sandbox.channel_id("support")
    assert "<strong>live</strong>" in change["html"]
