"""HTTP delivery: signed like Slack, retried on Slack's schedule, and a real Bolt app served
over HTTP verifying the signatures."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from slack_bolt import App
from slack_sdk.signature import SignatureVerifier

from slackemu import Sandbox

from .helpers import Received, bolt_responder, http_endpoint, web_client

OK = (200, {}, b"")


def test_events_are_signed_like_slack(make_sandbox) -> None:
    with http_endpoint(lambda r: OK) as endpoint:
        sb = make_sandbox(request_url=endpoint.url)
        sb.mention("ada", "support", "hello")
        sb.wait_for(lambda: len(endpoint.received) == 2)
        sb.wait_for(lambda: all(d.outcome == "acked" for d in sb.deliveries()))
    verifier = SignatureVerifier(sb.signing_secret)
    for received in endpoint.received:
        headers = received.headers
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"] == "Slackbot 1.0 (+https://api.slack.com/robots)"
        assert abs(int(headers["x-slack-request-timestamp"]) - time.time()) < 60
        assert verifier.is_valid_request(received.body, headers)
        assert "x-slack-retry-num" not in headers
    assert {r.json()["event"]["type"] for r in endpoint.received} == {"message", "app_mention"}


def test_failed_deliveries_are_retried_on_slacks_schedule(make_sandbox) -> None:
    with http_endpoint(lambda r: (500, {}, b"oops")) as endpoint:
        sb = make_sandbox(request_url=endpoint.url)

        def settled(num_attempts: int) -> bool:
            """That many attempts made and answered, so the next wait has begun."""
            tries = sb.deliveries()
            return len(tries) == num_attempts and tries[-1].outcome != "pending"

        sb.post_message("ada", "support", "hello")
        sb.wait_for(lambda: settled(2))  # first retry: nearly immediately
        sb.advance(59)
        assert len(endpoint.received) == 2
        sb.advance(1)
        sb.wait_for(lambda: settled(3))  # after 1 minute
        sb.advance(300)
        sb.wait_for(lambda: settled(4))  # after 5 minutes
        sb.advance(3600)
        time.sleep(0.2)
    assert len(endpoint.received) == 4
    bodies = {r.body for r in endpoint.received}
    assert len(bodies) == 1  # byte-identical
    retries = [
        (r.headers.get("x-slack-retry-num"), r.headers.get("x-slack-retry-reason"))
        for r in endpoint.received
    ]
    assert retries == [(None, None), ("1", "http_error"), ("2", "http_error"), ("3", "http_error")]


def test_no_retry_header_is_honoured(make_sandbox) -> None:
    with http_endpoint(lambda r: (500, {"x-slack-no-retry": "1"}, b"")) as endpoint:
        sb = make_sandbox(request_url=endpoint.url)
        sb.post_message("ada", "support", "hello")
        sb.wait_for(lambda: sb.deliveries() and sb.deliveries()[0].outcome == "no_retry")
        sb.advance(400)
        time.sleep(0.2)
    assert len(endpoint.received) == 1


def test_slow_answers_time_out_after_three_seconds(make_sandbox) -> None:
    release = threading.Event()

    def slow(received: Received) -> tuple[int, dict[str, str], bytes]:
        if received.headers.get("x-slack-retry-num") is None:
            release.wait(10)
        return OK

    with http_endpoint(slow) as endpoint:
        sb = make_sandbox(request_url=endpoint.url)
        sb.post_message("ada", "support", "hello")
        sb.wait_for(lambda: len(endpoint.received) == 1)
        sb.advance(3.1)  # the 3 s deadline was fixed when the request went out
        sb.wait_for(lambda: len(endpoint.received) == 2)
        release.set()
        sb.wait_for(lambda: sb.deliveries()[-1].outcome == "acked")
    assert endpoint.received[1].headers["x-slack-retry-reason"] == "http_timeout"
    assert [d.outcome for d in sb.deliveries()] == ["http_timeout", "acked"]


def test_bolt_over_http(make_sandbox) -> None:
    app_box: dict[str, App] = {}
    with http_endpoint(lambda r: bolt_responder(app_box["app"])(r)) as endpoint:
        sb: Sandbox = make_sandbox(request_url=endpoint.url)
        app = App(client=web_client(sb), signing_secret=sb.signing_secret)
        app_box["app"] = app

        @app.event("app_mention")
        def answer(event: dict, say: Any) -> None:
            say(text="Hello over HTTP", thread_ts=event["ts"])

        @app.event("message")
        def ignore() -> None:
            pass

        @app.command("/ask")
        def ask(ack: Any, command: dict) -> None:
            ack(text=f"You asked: {command['text']}")

        @app.action("go")
        def go(ack: Any, respond: Any) -> None:
            ack()
            respond(text="Gone!", delete_original=True)

        assert sb.verify_url() is True
        ts = sb.mention("ada", "support", "hi")
        assert sb.wait_for_reply("support", ts, timeout=10)["text"] == "Hello over HTTP"
        seen = sb.slash("ada", "support", "/ask", "why?")
        assert seen["payload"] == {"text": "You asked: why?"}
        command = next(
            r
            for r in endpoint.received
            if r.headers["content-type"].startswith("application/x-www-form-urlencoded")
            and "command=" in r.body.decode()
        )
        assert command.form()["command"] == "/ask"
        posted = web_client(sb).chat_postMessage(
            channel=sb.channel_id("support"),
            text="pick",
            blocks=[
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "go",
                            "text": {"type": "plain_text", "text": "Go"},
                        }
                    ],
                }
            ],
        )
        assert sb.click("ada", "support", posted["ts"], "go")["acked"] is True
        sb.wait_for(lambda: posted["ts"] not in [m["ts"] for m in sb.messages("support")])
    assert all(d.outcome == "acked" for d in sb.deliveries())
    interactive = next(r for r in endpoint.received if r.body.startswith(b"payload="))
    assert json.loads(interactive.form()["payload"])["type"] == "block_actions"


def test_bad_signatures_are_rejected_by_bolt(make_sandbox) -> None:
    app_box: dict[str, App] = {}
    with http_endpoint(lambda r: bolt_responder(app_box["app"])(r)) as endpoint:
        sb: Sandbox = make_sandbox(request_url=endpoint.url)
        app_box["app"] = App(client=web_client(sb), signing_secret="not-the-secret")
        sb.post_message("ada", "support", "hello")
        sb.wait_for(lambda: sb.deliveries() and sb.deliveries()[-1].status == 401)
