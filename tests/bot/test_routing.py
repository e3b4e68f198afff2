"""Which events deserve an answer (exactly-once claims: tests/store and test_durability)."""

from __future__ import annotations

import pytest

from bot.answer.routing import is_allowed, route_event
from bot.slack.pacing import ChannelPacer
from bot.types import BotIdentity

BOT = BotIdentity(user_id="UBOT", bot_id="BBOT", team_id="T1")


def event(**fields: object) -> dict[str, object]:
    base = {
        "type": "message",
        "channel": "C1",
        "channel_type": "channel",
        "user": "UADA",
        "ts": "1700000000.000200",
        "text": "hello",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"type": "app_mention", "text": "<@UBOT> hi"}, "mention"),
        ({"text": "<@UBOT> hi"}, "mention"),  # the `message` copy of a mention
        ({"thread_ts": "1700000000.000100"}, "followup"),
        ({"channel": "D1", "channel_type": "im"}, "dm"),
        ({"channel": "D1", "channel_type": "im", "thread_ts": "1700000000.000100"}, "dm"),
        ({"subtype": "thread_broadcast", "thread_ts": "1700000000.000100"}, "followup"),
        ({"subtype": "file_share", "text": "<@UBOT> look", "files": [{}]}, "mention"),
    ],
)
def test_answered(fields: dict[str, object], kind: str) -> None:
    route = route_event(event(**fields), bot=BOT)
    assert route.question is not None and route.question.kind == kind
    assert route.needs_thread_check == (kind == "followup")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "channel message without a mention"),
        ({"bot_id": "BOTHER", "text": "<@UBOT> hi"}, "from a bot"),
        ({"user": "UBOT", "bot_id": "BBOT", "channel_type": "im", "channel": "D1"}, "from a bot"),
        ({"user": "UBOT", "channel_type": "im", "channel": "D1"}, "from no user or from us"),
        ({"subtype": "bot_message", "text": "<@UBOT> hi"}, "subtype bot_message"),
        ({"subtype": "message_changed", "hidden": True}, "subtype message_changed"),
        ({"subtype": "message_deleted", "hidden": True}, "subtype message_deleted"),
        ({"subtype": "channel_join", "text": "<@UBOT> joined"}, "subtype channel_join"),
        (
            {"thread_ts": "1700000000.000100", "text": "<@UGRACE> can you?"},
            "addressed to someone else",
        ),
    ],
)
def test_ignored(fields: dict[str, object], reason: str) -> None:
    route = route_event(event(**fields), bot=BOT)
    assert route.question is None and route.reason == reason


def test_follow_ups_can_be_switched_off() -> None:
    route = route_event(event(thread_ts="1700000000.000100"), bot=BOT, thread_followups=False)
    assert route.question is None


def test_allowlists() -> None:
    question = route_event(event(text="<@UBOT> hi"), bot=BOT).question
    dm = route_event(event(channel="D1", channel_type="im"), bot=BOT).question
    assert question is not None and dm is not None
    assert is_allowed(question, allowed_channels=[], allowed_users=[])
    assert not is_allowed(question, allowed_channels=["C2"], allowed_users=[])
    assert is_allowed(dm, allowed_channels=["C2"], allowed_users=[])  # DMs: users decide
    assert not is_allowed(dm, allowed_channels=[], allowed_users=["UGRACE"])


def test_pacer_allows_a_short_burst_then_one_message_a_second() -> None:
    now = [0.0]
    pacer = ChannelPacer(per_second=1.0, burst=3, clock=lambda: now[0])
    assert [pacer.reserve("C1") for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert pacer.reserve("C2") == 0.0  # channels are paced separately
    now[0] = 10.0
    assert pacer.reserve("C1") == 0.0
