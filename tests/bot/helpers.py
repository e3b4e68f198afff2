"""Reading what the bot posted in the sandbox, the way a person would read it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from deskhand.logs import RedactingFilter
from slackemu import Sandbox


def shown_text(message: dict[str, Any]) -> str:
    """The Markdown a message shows: its markdown block when it has one, else its text."""
    for block in message.get("blocks") or []:
        if block.get("type") == "markdown":
            return str(block.get("text", ""))
    return str(message.get("text", ""))


def bot_replies(sb: Sandbox, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in sb.thread(channel, thread_ts)[1:] if m.get("user") == sb.bot_user_id]


def answers(sb: Sandbox, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """The bot's answer messages (all parts) in a thread; a live stream has no metadata yet."""
    return [
        m
        for m in bot_replies(sb, channel, thread_ts)
        if (m.get("metadata") or {}).get("event_type") in (None, "deskhand_answer")
    ]


def answer_text(sb: Sandbox, channel: str, thread_ts: str) -> str:
    return "".join(shown_text(m) for m in answers(sb, channel, thread_ts))


def payload(message: dict[str, Any]) -> dict[str, Any]:
    return (message.get("metadata") or {}).get("event_payload") or {}


def block_types(message: dict[str, Any]) -> list[str]:
    return [b.get("type", "") for b in message.get("blocks") or []]


def find_element(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return element
    return None


def bot_messages(sb: Sandbox, channel: str) -> list[dict[str, Any]]:
    """The bot's top-level messages in a channel (a /ask question, an escalation)."""
    return [m for m in sb.messages(channel) if m.get("user") == sb.bot_user_id]


def wait_for_bot_message(sb: Sandbox, channel: str, timeout: float = 10.0) -> dict[str, Any]:
    """The bot's first top-level message in a channel, once there is one."""
    return sb.wait_for(lambda: next(iter(bot_messages(sb, channel)), None), timeout=timeout)


def wait_for_streaming(sb: Sandbox, channel: str, thread_ts: str, timeout: float = 20.0) -> str:
    """The ts of the bot's answer in a thread while Slack still has it as a live stream."""
    return sb.wait_for(
        lambda: next(
            (m["ts"] for m in answers(sb, channel, thread_ts) if sb.is_streaming(channel, m["ts"])),
            None,
        ),
        timeout=timeout,
    )


def wait_for_stop_button(
    sb: Sandbox, channel: str, thread_ts: str, shows: str, timeout: float = 20.0
) -> dict[str, Any]:
    """The bot's answer in a thread once it has a Stop button and its blocks show `shows`."""
    return sb.wait_for(
        lambda: next(
            (
                m
                for m in answers(sb, channel, thread_ts)
                if find_element(m, "deskhand_stop") and shows in str(m["blocks"])
            ),
            None,
        ),
        timeout=timeout,
    )


def click_feedback(
    sb: Sandbox, user: str, channel: str, reply: dict[str, Any], vote: str = "positive"
) -> dict[str, Any]:
    """Press 👍 (`vote="positive"`) or 👎 (`"negative"`) on an answer; returns the ack."""
    buttons = find_element(reply, "deskhand_feedback")
    return sb.click(
        user, channel, reply["ts"], "deskhand_feedback", value=buttons[f"{vote}_button"]["value"]
    )


@contextmanager
def root_log(handler: logging.Handler) -> Iterator[logging.Handler]:
    """The root logger writes to `handler` alone inside the block; afterwards the redacting
    filters setup_logging put on it come off, and the old handlers and level are back."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = [handler]
    try:
        yield handler
    finally:
        for each in root.handlers:
            for found in [f for f in each.filters if isinstance(f, RedactingFilter)]:
                each.removeFilter(found)
        root.handlers, level = saved
        root.setLevel(level)
