"""State behind the Web API: threads, history, reactions, edits, ephemerals, size limits."""

from __future__ import annotations

import re

import pytest
from slack_sdk.errors import SlackApiError

from slackemu import Sandbox

from .helpers import web_client


def test_ts_values_are_strings_and_strictly_increasing(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    stamps = [sandbox.post_message("ada", "support", f"m{i}") for i in range(3)]
    stamps += [
        client.chat_postMessage(channel=sandbox.channel_id("support"), text="b")["ts"]
        for _ in range(3)
    ]
    assert all(re.fullmatch(r"\d+\.\d{6}", ts) for ts in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_thread_bookkeeping(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.post_message("ada", "support", "question")
    sandbox.post_message("grace", "support", "+1", thread_ts=parent)
    reply = client.chat_postMessage(channel=support, thread_ts=parent, text="answer")
    assert reply["message"]["parent_user_id"] == sandbox.user_id("ada")
    messages = client.conversations_replies(channel=support, ts=parent)["messages"]
    head, *rest = messages
    assert head["ts"] == parent and head["reply_count"] == 2
    assert head["reply_users"] == [sandbox.user_id("grace"), sandbox.bot_user_id]
    assert head["latest_reply"] == reply["ts"] and head["reply_users_count"] == 2
    assert [m["thread_ts"] for m in rest] == [parent, parent]
    # Asking with a reply's ts returns the whole thread.
    by_reply = client.conversations_replies(channel=support, ts=reply["ts"])["messages"]
    assert [m["ts"] for m in by_reply] == [m["ts"] for m in messages]
    # History has only the parent, with its thread summary.
    history = client.conversations_history(channel=support)["messages"]
    assert [m["ts"] for m in history] == [parent] and history[0]["reply_count"] == 2


def test_history_is_newest_first_and_paginates(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    stamps = [sandbox.post_message("ada", "general", f"m{i}") for i in range(5)]
    page = client.conversations_history(channel=sandbox.channel_id("general"), limit=2)
    assert [m["ts"] for m in page["messages"]] == stamps[::-1][:2] and page["has_more"]
    seen = [
        m["ts"]
        for p in client.conversations_history(channel=sandbox.channel_id("general"), limit=2)
        for m in p["messages"]
    ]
    assert seen == stamps[::-1]
    window = client.conversations_history(
        channel=sandbox.channel_id("general"), oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["ts"] for m in window["messages"]] == stamps[3:0:-1]


def test_metadata_only_with_include_all_metadata(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.post_message("ada", "support", "q")
    client.chat_postMessage(
        channel=support,
        thread_ts=parent,
        text="a",
        metadata={"event_type": "llm_reply", "event_payload": {"source_event_id": "Ev1"}},
    )
    plain = client.conversations_replies(channel=support, ts=parent)["messages"][1]
    assert "metadata" not in plain
    full = client.conversations_replies(channel=support, ts=parent, include_all_metadata=True)[
        "messages"
    ][1]
    assert full["metadata"]["event_payload"] == {"source_event_id": "Ev1"}


def test_reactions(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    ts = sandbox.post_message("ada", "support", "q")
    client.reactions_add(channel=support, name="eyes", timestamp=ts)
    assert sandbox.messages("support")[-1]["reactions"] == [
        {"name": "eyes", "users": [sandbox.bot_user_id], "count": 1}
    ]
    with pytest.raises(SlackApiError, match="already_reacted"):
        client.reactions_add(channel=support, name="eyes", timestamp=ts)
    client.reactions_remove(channel=support, name="eyes", timestamp=ts)
    assert "reactions" not in sandbox.messages("support")[-1]
    with pytest.raises(SlackApiError, match="no_reaction"):
        client.reactions_remove(channel=support, name="eyes", timestamp=ts)
    with pytest.raises(SlackApiError, match="invalid_name"):
        client.reactions_add(channel=support, name=":eyes:", timestamp=ts)
    assert sandbox.take_violations() == [
        "reactions.add: reaction name ':eyes:' must be given without colons"
    ]


def test_update_replaces_text_and_drops_blocks(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    posted = client.chat_postMessage(
        channel=support,
        text="Thinking…",
        blocks=[{"type": "section", "text": {"type": "plain_text", "text": "Thinking…"}}],
    )
    updated = client.chat_update(channel=support, ts=posted["ts"], text="Done")
    assert updated["text"] == "Done" and "blocks" not in updated["message"]
    message = sandbox.messages("support")[-1]
    assert message["text"] == "Done" and message["edited"]["user"] == sandbox.bot_user_id


def test_delete_leaves_a_tombstone_for_threads(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    lone = client.chat_postMessage(channel=support, text="bye")["ts"]
    parent = client.chat_postMessage(channel=support, text="thread")["ts"]
    sandbox.post_message("ada", "support", "reply", thread_ts=parent)
    client.chat_delete(channel=support, ts=lone)
    client.chat_delete(channel=support, ts=parent)
    remaining = sandbox.messages("support")
    assert [m["ts"] for m in remaining] == [parent]
    assert remaining[0]["subtype"] == "tombstone"


def test_ephemerals_are_not_in_history(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    answer = client.chat_postEphemeral(
        channel=sandbox.channel_id("support"), user=sandbox.user_id("ada"), text="only you"
    )
    assert set(answer.data) == {"ok", "message_ts"}
    assert client.conversations_history(channel=sandbox.channel_id("support"))["messages"] == []
    assert [e["text"] for e in sandbox.ephemerals("ada")] == ["only you"]
    assert sandbox.ephemerals("grace") == []


def test_long_text_is_truncated_by_post_message(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    posted = client.chat_postMessage(channel=sandbox.channel_id("support"), text="x" * 45_000)
    assert len(posted["message"]["text"]) == 40_000


BLOCK_LIMITS = [
    [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    [{"type": "markdown", "text": "x" * 7000}, {"type": "markdown", "text": "y" * 5001}],
    [{"type": "divider"}] * 51,
    [{"text": "no type"}],
]


@pytest.mark.parametrize(
    "blocks", BLOCK_LIMITS, ids=["section", "header", "markdown", "count", "type"]
)
def test_block_limits(sandbox: Sandbox, blocks: list) -> None:
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        web_client(sandbox).chat_postMessage(
            channel=sandbox.channel_id("support"), text="x", blocks=blocks
        )
    assert len(sandbox.take_violations()) == 1


def test_markdown_text_limit(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    client.chat_postMessage(channel=sandbox.channel_id("support"), markdown_text="x" * 12_000)
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.chat_postMessage(channel=sandbox.channel_id("support"), markdown_text="x" * 12_001)
    assert "markdown_text is 12001 chars" in sandbox.take_violations()[0]


def test_post_to_a_user_id_goes_to_their_dm(sandbox: Sandbox) -> None:
    posted = web_client(sandbox).chat_postMessage(channel=sandbox.user_id("ada"), text="hi")
    assert posted["channel"] == sandbox.dm_channel("ada")


def test_thread_ts_of_a_reply_is_a_violation(sandbox: Sandbox) -> None:
    parent = sandbox.post_message("ada", "support", "q")
    reply = sandbox.post_message("grace", "support", "r", thread_ts=parent)
    posted = web_client(sandbox).chat_postMessage(
        channel=sandbox.channel_id("support"), thread_ts=reply, text="a"
    )
    assert posted["message"]["thread_ts"] == parent
    assert "is a reply; use its parent's ts" in sandbox.take_violations()[0]


def test_assistant_status_is_cleared_by_a_reply(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    support = sandbox.channel_id("support")
    parent = sandbox.mention("ada", "support", "q")
    client.assistant_threads_setStatus(channel_id=support, thread_ts=parent, status="is thinking…")
    assert sandbox.assistant_status("support", parent) == "is thinking…"
    client.chat_postMessage(channel=support, thread_ts=parent, text="answer")
    assert sandbox.assistant_status("support", parent) == ""
    client.assistant_threads_setStatus(channel_id=support, thread_ts=parent, status="again")
    sandbox.advance(121)  # Slack drops a status after two minutes without a message
    assert sandbox.assistant_status("support", parent) == ""


def test_permalink_opens_the_ui(sandbox: Sandbox) -> None:
    ts = sandbox.post_message("ada", "support", "q")
    link = web_client(sandbox).chat_getPermalink(
        channel=sandbox.channel_id("support"), message_ts=ts
    )["permalink"]
    assert link.startswith(sandbox.url + "/archives/" + sandbox.channel_id("support") + "/p")


def test_users_info_and_auth_test(sandbox: Sandbox) -> None:
    client = web_client(sandbox)
    ada = client.users_info(user=sandbox.user_id("ada"))["user"]
    assert ada["real_name"] == "Ada Lovelace" and ada["is_bot"] is False
    me = client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == (
        sandbox.bot_user_id,
        sandbox.bot_id,
        sandbox.team_id,
    )
    bot = client.users_info(user=sandbox.bot_user_id)["user"]
    assert bot["is_bot"] is True and bot["profile"]["bot_id"] == sandbox.bot_id
