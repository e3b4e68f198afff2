"""App Home in the emulator: `app_home_opened` events and `views.publish`, checked against
Slack's specs, delivered to a real Bolt app over Socket Mode, and shown on the bot DM's Home tab."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from slackemu import Sandbox
from slackemu.contract import event_problems
from slackemu.manifest import load_manifest
from slackemu.ui import home_html

from .helpers import bolt_app, socket_mode, web_client

HOME = {
    "type": "home",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Usage"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Answers*\n42"}]},
    ],
}


def test_views_publish_stores_the_home_view(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    ada = sandbox.user_id("ada")
    published = client.views_publish(user_id=ada, view=HOME)
    view = published["view"]
    assert view["type"] == "home" and view["id"].startswith("V")
    assert all(block["block_id"] for block in view["blocks"])  # Slack fills in block ids
    assert sandbox.home_view("ada") == view
    # Publishing again keeps the view id; a stale hash is refused as Slack does.
    again = client.views_publish(user_id=ada, view=HOME, hash=view["hash"])["view"]
    assert again["id"] == view["id"]
    with pytest.raises(SlackApiError) as err:
        client.views_publish(user_id=ada, view=HOME, hash="1.stale")
    assert err.value.response["error"] == "hash_conflict"
    assert sandbox.violations() == []


@pytest.mark.parametrize(
    ("view", "violation"),
    [
        ({"type": "modal", "blocks": []}, "view type 'modal'"),
        ({"type": "home", "blocks": [{"type": "divider"}] * 101}, "101 blocks (max 100)"),
        (
            {
                "type": "home",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": ""}}],
            },
            "header",
        ),
    ],
)
def test_bad_views_are_refused_and_flagged(
    sandbox: Sandbox, view: dict[str, Any], violation: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        web_client(sandbox).views_publish(user_id=sandbox.user_id("ada"), view=view)
    assert err.value.response["error"] == "invalid_arguments"
    found = sandbox.take_violations()
    assert len(found) == 1 and violation in found[0], found


def test_view_must_be_json_in_form_bodies(sandbox: Sandbox) -> None:
    body = urllib.parse.urlencode(
        {"user_id": sandbox.user_id("ada"), "view": json.dumps(HOME)}
    ).encode()
    request = urllib.request.Request(
        sandbox.api_url + "views.publish",
        data=body,
        headers={
            "Authorization": f"Bearer {sandbox.bot_token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["ok"] is True
    assert sandbox.home_view("ada") is not None


def test_home_tab_must_be_enabled(make_sandbox: Any) -> None:
    manifest = load_manifest(None)
    manifest["features"]["app_home"]["home_tab_enabled"] = False
    sb = make_sandbox(manifest=manifest)
    with pytest.raises(SlackApiError) as err:
        web_client(sb).views_publish(user_id=sb.user_id("ada"), view=HOME)
    assert err.value.response["error"] == "not_enabled"


def test_opening_home_reaches_bolt_which_publishes(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)
    opened: list[dict[str, Any]] = []

    @app.event("app_home_opened")
    def publish(event: dict[str, Any], client: Any) -> None:
        opened.append(event)
        client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": f"Hello <@{event['user']}>, visit {len(opened)}",
                        },
                    }
                ],
            },
        )

    with socket_mode(sandbox, app):
        assert sandbox.open_home("grace") is None  # nothing published yet
        sandbox.wait_for(lambda: sandbox.home_view("grace"), timeout=10)
        first = sandbox.home_view("grace")
        assert first is not None
        sandbox.open_home("grace")
        sandbox.wait_for(lambda: len(opened) == 2, timeout=10)
        sandbox.wait_for(lambda: "visit 2" in json.dumps(sandbox.home_view("grace")), timeout=10)
    grace = sandbox.user_id("grace")
    assert opened[0]["user"] == grace and opened[0]["tab"] == "home"
    assert opened[0]["channel"] == sandbox.dm_channel("grace") and "view" not in opened[0]
    assert opened[1]["view"]["id"] == first["id"]  # the second visit carries the view
    deliveries = [
        d.payload
        for d in sandbox.deliveries("events_api")
        if d.payload.get("event", {}).get("type") == "app_home_opened"
    ]
    assert len(deliveries) == 2 and all(event_problems(p) == [] for p in deliveries)
    assert sandbox.violations() == []


def test_home_tab_in_the_page_shows_the_published_blocks(sandbox: Sandbox) -> None:
    web_client(sandbox).views_publish(user_id=sandbox.user_id("ada"), view=HOME)
    dm = sandbox.dm_channel("ada")
    url = f"{sandbox.url}/?channel={dm}&as={sandbox.user_id('ada')}&tab=home"
    with urllib.request.urlopen(url) as response:
        page = response.read().decode()
    assert 'id="tab-home"' in page and 'id="home"' in page
    assert "blk-header" in page and "Usage" in page and "Answers" in page
    with urllib.request.urlopen(url.replace("&tab=home", "")) as response:
        assert 'id="home"' not in response.read().decode()  # the Messages tab


SELECT_HOME = {
    "type": "home",
    "blocks": [
        {
            "type": "section",
            "block_id": "mode:C1",
            "text": {"type": "mrkdwn", "text": "*#random*"},
            "accessory": {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Mode"},
                "initial_option": {"text": {"type": "plain_text", "text": "KB"}, "value": "kb"},
                "options": [
                    {"text": {"type": "plain_text", "text": "KB"}, "value": "kb"},
                    {"text": {"type": "plain_text", "text": "Assistant"}, "value": "assistant"},
                ],
            },
        }
    ],
}


def test_a_static_select_on_home_sends_block_actions_to_bolt(sandbox: Sandbox) -> None:
    app = bolt_app(sandbox)
    seen: list[dict[str, Any]] = []

    @app.action("pick")
    def picked(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        seen.append({"body": body, "action": action})

    ada = sandbox.user_id("ada")
    view = web_client(sandbox).views_publish(user_id=ada, view=SELECT_HOME)["view"]
    with socket_mode(sandbox, app):
        assert sandbox.select_in_home("ada", "pick", "assistant")["acked"]
        sandbox.wait_for(lambda: seen, timeout=10)
    body, action = seen[0]["body"], seen[0]["action"]
    assert body["type"] == "block_actions" and body["user"]["id"] == ada
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["view"]["id"] == view["id"] and "response_url" not in body
    assert action["type"] == "static_select" and action["block_id"] == "mode:C1"
    assert action["selected_option"]["value"] == "assistant"
    assert (
        body["view"]["state"]["values"]["mode:C1"]["pick"]["selected_option"]
        == (action["selected_option"])
    )
    # An option the select does not offer cannot be chosen.
    with pytest.raises(Exception, match="no static_select"):
        sandbox.select_in_home("ada", "pick", "chatty")
    # The page shows it as a <select> with the current option chosen.
    page = str(home_html(sandbox.emulator, ada))
    assert 'class="static-select" data-action-id="pick"' in page
    assert '<option value="kb" selected>KB</option>' in page
    assert sandbox.violations() == []
