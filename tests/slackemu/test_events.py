"""Events as Slack generates them: which fire, with which fields, compared with the recorded
payloads in specs/java-slack-sdk-json-logs/events."""

from __future__ import annotations

from typing import Any

from slackemu import Sandbox, specs
from slackemu.contract import event_problems, slash_command_problems

from .helpers import web_client

WRAPPER_KEYS = {
    "token",
    "team_id",
    "api_app_id",
    "event",
    "type",
    "event_id",
    "event_time",
    "authorizations",
    "is_ext_shared_channel",
    "event_context",
    "context_team_id",
    "context_enterprise_id",
}


def _events(sb: Sandbox) -> list[dict[str, Any]]:
    return [d.payload for d in sb.deliveries("events_api") if d.attempt == 0]


def test_mention_in_channel_gives_message_and_app_mention(sandbox: Sandbox) -> None:
    ts = sandbox.mention("ada", "support", "help me")
    payloads = _events(sandbox)
    assert [p["event"]["type"] for p in payloads] == ["message", "app_mention"]
    assert payloads[0]["event_id"] != payloads[1]["event_id"]
    for payload in payloads:
        assert set(payload) == WRAPPER_KEYS
        assert payload["type"] == "event_callback" and payload["event_id"].startswith("Ev")
        assert isinstance(payload["event_time"], int)
        assert payload["authorizations"] == [
            {
                "enterprise_id": None,
                "team_id": sandbox.team_id,
                "user_id": sandbox.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ]
        event = payload["event"]
        assert event["ts"] == ts and event["user"] == sandbox.user_id("ada")
        assert event["text"] == f"<@{sandbox.bot_user_id}> help me"
        assert event["client_msg_id"] and event["blocks"][0]["type"] == "rich_text"
        assert event_problems(payload) == []
    assert payloads[0]["event"]["channel_type"] == "channel"


def test_event_fields_match_slacks_recorded_payloads(sandbox: Sandbox) -> None:
    """Every field our events carry was seen by Slack's SDK; the core ones are all there."""
    sandbox.mention("ada", "support", "hi")
    message, mention = (p["event"] for p in _events(sandbox))
    recorded_message = specs.recorded_event("MessagePayload")["event"]
    recorded_mention = specs.recorded_event("AppMentionPayload")["event"]
    core = {"type", "user", "text", "ts", "channel", "event_ts", "team", "blocks", "client_msg_id"}
    assert core | {"channel_type"} <= set(message) <= set(recorded_message)
    assert core <= set(mention) <= set(recorded_mention)


def test_dm_gives_message_im_only(sandbox: Sandbox) -> None:
    sandbox.dm("ada", f"<@{sandbox.bot_user_id}> hi")
    payloads = _events(sandbox)
    assert [p["event"]["type"] for p in payloads] == ["message"]
    assert payloads[0]["event"]["channel_type"] == "im"
    assert payloads[0]["event"]["channel"] == sandbox.dm_channel("ada")


def test_thread_reply_carries_thread_fields(sandbox: Sandbox) -> None:
    parent = sandbox.post_message("grace", "support", "q")
    sandbox.post_message("ada", "support", "r", thread_ts=parent)
    event = _events(sandbox)[-1]["event"]
    assert event["thread_ts"] == parent and event["parent_user_id"] == sandbox.user_id("grace")


def test_bot_posts_come_back_as_message_events(sandbox: Sandbox) -> None:
    web_client(sandbox).chat_postMessage(channel=sandbox.channel_id("support"), text="hello")
    payload = _events(sandbox)[-1]
    event = payload["event"]
    assert event["type"] == "message" and "subtype" not in event
    assert (event["user"], event["bot_id"], event["app_id"]) == (
        sandbox.bot_user_id,
        sandbox.bot_id,
        sandbox.app_id,
    )
    assert event["bot_profile"]["id"] == sandbox.bot_id
    assert event_problems(payload) == []


def test_other_bots_carry_their_bot_id(sandbox: Sandbox) -> None:
    sandbox.post_message("otterbot", "general", f"<@{sandbox.bot_user_id}> ping")
    message, mention = (p["event"] for p in _events(sandbox))
    other = next(u for u in sandbox.users if u["name"] == "otterbot")
    assert message["bot_id"] == mention["bot_id"] == other["profile"]["bot_id"]
    assert message["bot_id"] != sandbox.bot_id and "client_msg_id" not in message


def test_edits_and_deletes(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    ts = client.chat_postMessage(channel=sandbox.channel_id("support"), text="draft")["ts"]
    client.chat_update(channel=sandbox.channel_id("support"), ts=ts, text="final")
    client.chat_delete(channel=sandbox.channel_id("support"), ts=ts)
    human = sandbox.post_message("ada", "support", "typo")
    sandbox.edit("ada", "support", human, "fixed")
    changed, deleted, _, human_changed = (p["event"] for p in _events(sandbox)[1:])
    assert changed["subtype"] == "message_changed" and changed["hidden"] is True
    assert changed["message"]["text"] == "final"
    assert changed["previous_message"]["text"] == "draft"
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == ts
    assert human_changed["message"]["edited"]["user"] == sandbox.user_id("ada")
    for payload in _events(sandbox):
        assert event_problems(payload) == []


def test_no_events_without_subscription(make_sandbox) -> None:
    from slackemu.manifest import load_manifest

    manifest = load_manifest(None)
    manifest["settings"]["event_subscriptions"]["bot_events"] = ["app_mention"]
    sb = make_sandbox(manifest=manifest)
    sb.post_message("ada", "support", "no mention")
    sb.dm("ada", "dm")
    sb.mention("ada", "support", "mention")
    assert [p["event"]["type"] for p in _events(sb)] == ["app_mention"]


def test_typed_text_is_escaped_like_a_slack_client(sandbox: Sandbox) -> None:
    sandbox.post_message("ada", "support", "is 1 < 2 & 3 > 2? see <https://x.test|x>")
    event = _events(sandbox)[0]["event"]
    assert event["text"] == "is 1 &lt; 2 &amp; 3 &gt; 2? see <https://x.test|x>"
    elements = event["blocks"][0]["elements"][0]["elements"]
    assert elements[0] == {"type": "text", "text": "is 1 < 2 & 3 > 2? see "}
    assert elements[1] == {"type": "link", "url": "https://x.test", "text": "x"}


def test_slash_command_payload_fields(sandbox: Sandbox) -> None:
    pending = sandbox.slash_nowait("ada", "support", "/ask", "why?")  # nobody is connected
    sandbox.wait_for(lambda: sandbox.deliveries("slash_commands"))
    sandbox.advance(3.1)
    # No app connected: Slack tells the user the command could not be dispatched.
    assert pending.result(5) == {"acked": False, "payload": None, "error": "dispatch_failed"}
    assert sandbox.ephemerals("ada")[0]["text"] == '/ask failed with the error "dispatch_failed"'
    payload = sandbox.deliveries("slash_commands")[0].payload
    recorded = specs.recorded_slash_command_keys()
    assert set(payload) == recorded - {"enterprise_id", "enterprise_name"}
    assert slash_command_problems(payload) == []
    assert payload["command"] == "/ask" and payload["text"] == "why?"
    assert payload["response_url"].startswith(sandbox.url + "/commands/")
