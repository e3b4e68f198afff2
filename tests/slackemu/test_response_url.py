"""response_url: ephemeral/in_channel, replace/delete original, 5 uses within 30 minutes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from slackemu import Sandbox

from .helpers import bolt_app, socket_mode


def _post(url: str, body: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _response_url(sb: Sandbox) -> str:
    app = bolt_app(sb)

    @app.command("/ask")
    def ask(ack: Any) -> None:
        ack()

    with socket_mode(sb, app):
        assert sb.slash("ada", "support", "/ask", "x")["acked"]
    return sb.deliveries("slash_commands")[0].payload["response_url"]


def test_five_uses_then_used_url(sandbox: Sandbox) -> None:
    url = _response_url(sandbox)
    for i in range(5):
        assert _post(url, {"text": f"update {i}"}) == (200, "ok")
    assert _post(url, {"text": "one too many"}) == (404, "used_url")
    assert [e["text"] for e in sandbox.ephemerals("ada")] == [f"update {i}" for i in range(5)]


def test_expires_after_thirty_minutes(sandbox: Sandbox) -> None:
    url = _response_url(sandbox)
    sandbox.advance(30 * 60 + 1)
    assert _post(url, {"text": "late"}) == (404, "expired_url")


def test_in_channel_and_replace_original(sandbox: Sandbox) -> None:
    url = _response_url(sandbox)
    assert _post(url, {"text": "Working…"})[0] == 200
    assert _post(url, {"text": "Done.", "replace_original": True})[0] == 200
    assert [e["text"] for e in sandbox.ephemerals("ada")] == ["Done."]
    assert _post(url, {"text": "For everyone", "response_type": "in_channel"})[0] == 200
    assert sandbox.messages("support")[-1]["text"] == "For everyone"
    assert sandbox.messages("support")[-1]["user"] == sandbox.bot_user_id
    assert _post(url, {"delete_original": True})[0] == 200
    assert sandbox.messages("support") == []


def test_unknown_and_empty(sandbox: Sandbox) -> None:
    url = _response_url(sandbox)
    assert _post(url.rsplit("/", 1)[0] + "/wrongkey", {"text": "x"})[0] == 404
    assert _post(url, {}) == (400, "no_text")
