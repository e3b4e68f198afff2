"""The Web API answers within Slack's contract: recorded key sets, documented error codes,
token types, required arguments, scopes, argument encodings and content type."""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk.errors import SlackApiError

from slackemu import Sandbox, specs
from slackemu.contract import response_problems
from slackemu.manifest import load_manifest

from .helpers import web_client


def _tour(sb: Sandbox) -> None:
    """Call every served method once, successfully, with the real WebClient."""
    client = web_client(sb)
    support = sb.channel_id("support")
    ada = sb.user_id("ada")
    parent = sb.mention("ada", "support", "hello")
    client.auth_test()
    client.team_info()
    client.bots_info(bot=sb.bot_id)
    client.users_info(user=ada)
    client.conversations_info(channel=support)
    client.conversations_open(users=ada)
    posted = client.chat_postMessage(
        channel=support,
        thread_ts=parent,
        text="hi",
        metadata={"event_type": "llm_reply", "event_payload": {"source": "x"}},
    )
    client.chat_update(channel=support, ts=posted["ts"], text="hi again")
    client.chat_postEphemeral(channel=support, user=ada, text="psst")
    client.chat_getPermalink(channel=support, message_ts=posted["ts"])
    client.reactions_add(channel=support, name="eyes", timestamp=parent)
    client.reactions_remove(channel=support, name="eyes", timestamp=parent)
    client.assistant_threads_setStatus(channel_id=support, thread_ts=parent, status="is typing…")
    client.assistant_threads_setTitle(channel_id=support, thread_ts=parent, title="Hello")
    client.assistant_threads_setSuggestedPrompts(
        channel_id=support, thread_ts=parent, prompts=[{"title": "A", "message": "a"}]
    )
    stream = client.chat_startStream(
        channel=support,
        thread_ts=parent,
        recipient_user_id=ada,
        recipient_team_id=sb.team_id,
        markdown_text="Hel",
    )
    client.chat_appendStream(channel=support, ts=stream["ts"], markdown_text="lo")
    client.chat_stopStream(channel=support, ts=stream["ts"])
    client.conversations_replies(channel=support, ts=parent, include_all_metadata=True)
    client.conversations_history(channel=support, limit=1)
    client.chat_delete(channel=support, ts=posted["ts"])
    client.views_publish(
        user_id=ada,
        view={
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}],
        },
    )
    web_client(sb, sb.app_token).apps_connections_open(app_token=sb.app_token)


def _manifest_with_every_scope() -> dict:
    manifest = load_manifest(None)
    manifest["oauth_config"]["scopes"]["bot"] += ["team:read", "channels:read", "im:write"]
    return manifest


def test_every_method_answers_with_recorded_keys_only(make_sandbox) -> None:
    sb = make_sandbox(manifest=_manifest_with_every_scope())
    _tour(sb)
    calls = sb.calls()
    assert {c.method for c in calls} == set(sb.emulator.methods)
    for call in calls:
        assert call.ok, (call.method, call.response)
        assert response_problems(call.method, call.response) == []


def test_conversations_info_and_open(make_sandbox) -> None:
    sb = make_sandbox(manifest=_manifest_with_every_scope())
    client = web_client(sb)
    info = client.conversations_info(channel=sb.channel_id("support"))
    assert info["channel"]["name"] == "support" and info["channel"]["is_member"] is True
    opened = client.conversations_open(users=sb.user_id("grace"), return_im=True)
    assert opened["channel"]["id"] == sb.dm_channel("grace")
    assert opened["already_open"] is True


def test_responses_are_json_utf8(sandbox: Sandbox) -> None:
    request = urllib.request.Request(
        sandbox.api_url + "auth.test",
        data=b"",
        headers={"Authorization": f"Bearer {sandbox.bot_token}"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(response.read())["ok"] is True


def _raw(
    sb: Sandbox,
    method: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict:
    request = urllib.request.Request(
        f"{sb.api_url}{method}{query}", data=body or None, headers=headers or {}
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_unknown_method(sandbox: Sandbox) -> None:
    assert _raw(sandbox, "chat.sendCarrierPigeon") == {"ok": False, "error": "unknown_method"}
    assert sandbox.take_violations() == [
        "chat.sendCarrierPigeon: method is not served by the emulator"
    ]


def test_token_rules(sandbox: Sandbox) -> None:
    assert _raw(sandbox, "auth.test")["error"] == "not_authed"
    assert (
        _raw(sandbox, "auth.test", headers={"Authorization": "Bearer xoxb-nope"})["error"]
        == "invalid_auth"
    )
    assert (
        _raw(sandbox, "auth.test", headers={"Authorization": f"Bearer {sandbox.app_token}"})[
            "error"
        ]
        == "not_allowed_token_type"
    )
    assert (
        _raw(
            sandbox,
            "apps.connections.open",
            headers={"Authorization": f"Bearer {sandbox.bot_token}"},
        )["error"]
        == "not_allowed_token_type"
    )
    # A token inside a JSON body is ignored by Slack; it must travel in the header.
    assert (
        _raw(
            sandbox,
            "auth.test",
            json.dumps({"token": sandbox.bot_token}).encode(),
            {"Content-Type": "application/json"},
        )["error"]
        == "not_authed"
    )
    # ...but a form field or a query parameter works.
    assert _raw(sandbox, "auth.test", f"token={sandbox.bot_token}".encode())["ok"] is True
    assert _raw(sandbox, "auth.test", query=f"?token={sandbox.bot_token}")["ok"] is True
    found = sandbox.take_violations()
    assert any("needs a bot token, got none" in v for v in found)
    assert any("apps.connections.open: needs a app token, got bot" in v for v in found)


def test_missing_required_argument(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    with pytest.raises(SlackApiError) as err:
        client.api_call("conversations.replies", params={"channel": sandbox.channel_id("support")})
    assert err.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.postMessage", json={"text": "hi"})
    assert err.value.response.data == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] missing required field: channel"]},
    }
    assert sandbox.take_violations() == [
        "conversations.replies: missing required argument 'ts'",
        "chat.postMessage: missing required argument 'channel'",
    ]


def test_ts_arguments_must_be_strings(sandbox: Sandbox) -> None:
    ts = sandbox.post_message("ada", "support", "hello")
    client = web_client(sandbox)
    with pytest.raises(SlackApiError) as err:
        client.api_call(
            "chat.postMessage",
            json={"channel": sandbox.channel_id("support"), "text": "x", "thread_ts": float(ts)},
        )
    assert err.value.response["error"] == "invalid_arguments"
    assert "thread_ts must be a string" in sandbox.take_violations()[0]


def test_missing_scope(make_sandbox) -> None:
    manifest = load_manifest(None)
    manifest["oauth_config"]["scopes"]["bot"].remove("reactions:write")
    sb = make_sandbox(manifest=manifest)
    ts = sb.post_message("ada", "support", "hello")
    with pytest.raises(SlackApiError) as err:
        web_client(sb).reactions_add(channel=sb.channel_id("support"), name="eyes", timestamp=ts)
    response = err.value.response.data
    assert response["error"] == "missing_scope"
    assert response["needed"] == "reactions:write"
    assert "chat:write" in response["provided"].split(",")
    assert sb.take_violations() == [
        "reactions.add: needs scope reactions:write (manifest has app_mentions:read, "
        "assistant:write, channels:history, chat:write, commands, groups:history, im:history, "
        "users:read)"
    ]


def test_history_scope_follows_the_conversation_type(make_sandbox) -> None:
    manifest = load_manifest(None)
    manifest["oauth_config"]["scopes"]["bot"].remove("im:history")
    manifest["settings"]["event_subscriptions"]["bot_events"].remove("message.im")
    sb = make_sandbox(manifest=manifest)
    client = web_client(sb)
    client.conversations_history(channel=sb.channel_id("support"))
    with pytest.raises(SlackApiError) as err:
        client.conversations_history(channel=sb.dm_channel("ada"))
    assert err.value.response["needed"] == "im:history"
    assert len(sb.take_violations()) == 1


def test_manifest_without_event_scopes_is_a_violation(make_sandbox) -> None:
    manifest = load_manifest(None)
    manifest["oauth_config"]["scopes"]["bot"].remove("app_mentions:read")
    sb = make_sandbox(manifest=manifest)
    assert sb.take_violations() == ["manifest: event 'app_mention' needs scope 'app_mentions:read'"]


def test_form_bodies_carry_nested_json_strings(sandbox: Sandbox) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    body = (
        f"channel={sandbox.channel_id('support')}&text=hi&blocks="
        + urllib.request.quote(json.dumps(blocks))
    ).encode()
    answer = _raw(
        sandbox,
        "chat.postMessage",
        body,
        {
            "Authorization": f"Bearer {sandbox.bot_token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert answer["ok"] and answer["message"]["blocks"][0]["text"]["text"] == "*hi*"
    assert answer["message"]["blocks"][0]["block_id"]  # Slack fills in block ids


def test_get_with_query_arguments(sandbox: Sandbox) -> None:
    ts = sandbox.post_message("ada", "support", "hello")
    answer = _raw(
        sandbox,
        "conversations.replies",
        query=f"?channel={sandbox.channel_id('support')}&ts={ts}",
        headers={"Authorization": f"Bearer {sandbox.bot_token}"},
    )
    assert [m["ts"] for m in answer["messages"]] == [ts]


ERROR_CASES = [
    ("chat.postMessage", {"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
    ("chat.postMessage", {"channel": "{support}"}, "no_text"),
    (
        "chat.postMessage",
        {"channel": "{support}", "text": "x", "markdown_text": "y"},
        "markdown_text_conflict",
    ),
    (
        "chat.postMessage",
        {"channel": "{support}", "blocks": [{"type": "divider"}] * 51},
        "invalid_blocks",
    ),
    ("chat.update", {"channel": "{support}", "ts": "1.000001", "text": "x"}, "message_not_found"),
    ("chat.update", {"channel": "{support}", "ts": "{human}", "text": "x"}, "cant_update_message"),
    ("chat.update", {"channel": "{support}", "ts": "{bot}", "text": "x" * 40_001}, "msg_too_long"),
    ("chat.delete", {"channel": "{support}", "ts": "{human}"}, "cant_delete_message"),
    (
        "chat.postEphemeral",
        {"channel": "{support}", "user": "U0NOPE", "text": "x"},
        "user_not_in_channel",
    ),
    ("conversations.replies", {"channel": "{support}", "ts": "1.000001"}, "thread_not_found"),
    (
        "reactions.add",
        {"channel": "{support}", "name": "eyes", "timestamp": "1.000001"},
        "message_not_found",
    ),
    (
        "reactions.add",
        {"channel": "{support}", "name": "eyes", "timestamp": "{reacted}"},
        "already_reacted",
    ),
    (
        "reactions.remove",
        {"channel": "{support}", "name": "tada", "timestamp": "{human}"},
        "no_reaction",
    ),
    ("users.info", {"user": "U0NOPE"}, "user_not_found"),
    ("bots.info", {"bot": "B0NOPE"}, "bot_not_found"),
    (
        "assistant.threads.setStatus",
        {"channel_id": "{support}", "thread_ts": "1.000001", "status": "x"},
        "invalid_thread_ts",
    ),
    (
        "chat.startStream",
        {"channel": "{support}", "thread_ts": "{human}"},
        "missing_recipient_user_id",
    ),
    (
        "chat.startStream",
        {"channel": "{support}", "thread_ts": "{human}", "recipient_user_id": "{ada}"},
        "missing_recipient_team_id",
    ),
    (
        "chat.startStream",
        {
            "channel": "{support}",
            "thread_ts": "{human}",
            "recipient_user_id": "U0NOPE",
            "recipient_team_id": "T1",
        },
        "user_not_found",
    ),
    (
        "chat.appendStream",
        {"channel": "{support}", "ts": "{human}", "markdown_text": "x"},
        "message_not_owned_by_app",
    ),
    (
        "chat.appendStream",
        {"channel": "{support}", "ts": "{bot}", "markdown_text": "x"},
        "message_not_in_streaming_state",
    ),
    ("chat.stopStream", {"channel": "{support}", "ts": "{bot}"}, "message_not_in_streaming_state"),
]


@pytest.mark.parametrize(
    ("method", "args", "error"), ERROR_CASES, ids=[f"{m}-{e}" for m, _, e in ERROR_CASES]
)
def test_errors_are_the_documented_ones(
    sandbox: Sandbox, method: str, args: dict, error: str
) -> None:
    client = web_client(sandbox)
    human = sandbox.post_message("ada", "support", "hello")
    bot = client.chat_postMessage(channel=sandbox.channel_id("support"), text="bot")["ts"]
    client.reactions_add(channel=sandbox.channel_id("support"), name="eyes", timestamp=human)
    names = {
        "support": sandbox.channel_id("support"),
        "human": human,
        "bot": bot,
        "reacted": human,
        "ada": sandbox.user_id("ada"),
    }
    args = _fill(args, names)
    with pytest.raises(SlackApiError) as err:
        client.api_call(method, json=args)
    assert err.value.response["error"] == error
    assert error in specs.documented_errors(method)
    sandbox.take_violations()  # some cases break the contract on purpose


def _fill(value: object, names: dict[str, str]) -> object:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return names[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def test_bot_must_be_in_the_channel(make_sandbox) -> None:
    seed = {
        "channels": [
            {"name": "random", "members": "*", "bot": False},
            {"name": "support", "members": "*"},
        ]
    }
    sb = make_sandbox(seed=seed)
    client = web_client(sb)
    sb.post_message("ada", "random", "psst")
    for call, code in (
        (
            lambda: client.chat_postMessage(channel=sb.channel_id("random"), text="hi"),
            "not_in_channel",
        ),
        (lambda: client.conversations_history(channel=sb.channel_id("random")), "not_in_channel"),
    ):
        with pytest.raises(SlackApiError) as err:
            call()
        assert err.value.response["error"] == code
    assert sb.deliveries() == []  # no events from a channel the bot is not in
