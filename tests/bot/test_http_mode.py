"""HTTP mode: signed events, commands and clicks on POST /slack/events, GET /healthz, and the
signature check (bad or stale: 401, nothing processed)."""

from __future__ import annotations

import errno
import json
import socket
import time
import urllib.error
import urllib.request

from slackemu.http_delivery import sign
from tests.bot.helpers import answer_text, bot_messages, click_feedback


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_http(make_workspace, run_bot, engine, **overrides):
    for attempt in range(5):  # the free port can be taken before the bot binds it
        port = free_port()
        sb = make_workspace(request_url=f"http://127.0.0.1:{port}/slack/events")
        try:
            bot = run_bot(sb, engine, mode="http", port=port, slack_app_token=None, **overrides)
        except OSError as err:
            if err.errno != errno.EADDRINUSE or attempt == 4:
                raise
            continue
        return sb, bot, f"http://127.0.0.1:{port}"
    raise AssertionError("unreachable")


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_http_mode_answers_mentions_commands_and_clicks(
    make_workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Over HTTP."
    sb, bot, base = start_http(make_workspace, run_bot, scripted_engine)
    assert bot.mode == "http"
    assert sb.verify_url()
    ts = sb.mention("ada", "support", "hello over http")
    reply = sb.wait_for_reply("support", ts, timeout=20)
    assert answer_text(sb, "support", ts) == "Over HTTP."
    assert all(d.outcome == "acked" and d.transport == "http" for d in sb.deliveries())
    assert sb.slash("grace", "support", "/ask", "and a command?")["acked"]
    sb.wait_for(lambda: len(bot_messages(sb, "support")) == 1 or None, timeout=10)
    clicked = click_feedback(sb, "ada", "support", reply)
    assert clicked["acked"]
    sb.wait_for(lambda: sb.ephemerals("ada", "support") or None, timeout=10)
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        health = json.loads(response.read())
    assert health["ok"] is True and health["engine_alive"] is True


def test_bad_or_stale_signatures_are_refused_and_nothing_happens(
    make_workspace, run_bot, script, scripted_engine
):
    sb, _, base = start_http(make_workspace, run_bot, scripted_engine)
    event = {
        "token": "x",
        "team_id": sb.team_id,
        "api_app_id": sb.app_id,
        "type": "event_callback",
        "event_id": "Ev0FORGED1",
        "event_time": int(time.time()),
        "event": {
            "type": "app_mention",
            "user": sb.user_id("ada"),
            "ts": "1700000000.000100",
            "channel": sb.channel_id("support"),
            "text": f"<@{sb.bot_user_id}> forged",
            "event_ts": "1700000000.000100",
        },
    }
    body = json.dumps(event).encode()
    now = str(int(time.time()))
    stale = str(int(time.time()) - 600)
    cases = {
        "wrong secret": (now, sign("not-the-secret", now, body)),
        "stale": (stale, sign(sb.signing_secret, stale, body)),
        "missing": (now, ""),
    }
    calls_before = len(sb.calls())
    for timestamp, signature in cases.values():
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        assert post(base + "/slack/events", body, headers) == 401
    time.sleep(0.5)
    assert len(sb.calls()) == calls_before
    assert script.prompts == []
    # A properly signed request is accepted (the url_verification handshake).
    challenge = json.dumps({"token": "x", "challenge": "c123", "type": "url_verification"})
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": now,
        "X-Slack-Signature": sign(sb.signing_secret, now, challenge.encode()),
    }
    assert post(base + "/slack/events", challenge.encode(), headers) == 200
