"""Slack errors that are facts about the workspace, not bugs: the message, thread or channel
is gone (deleted, archived, the bot removed, a local workspace restarted empty). Code that
meets one logs a single line without a traceback and goes another way (a fresh reply, a DM);
anything else is unexpected and keeps its traceback."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "cant_delete_message"})
THREAD_GONE = frozenset({"thread_not_found"})
PLACE_GONE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "user_not_in_channel",
    }
)
GONE = MESSAGE_GONE | THREAD_GONE | PLACE_GONE


def slack_code(err: BaseException) -> str | None:
    """The `error` of a Slack API error response; None for anything else."""
    if not isinstance(err, SlackApiError):
        return None
    response = err.response
    try:
        return str(response.get("error") or "") or None
    except AttributeError:
        return None


def is_gone(err: BaseException) -> bool:
    """True when `err` says the message, thread or channel is gone (an expected outcome)."""
    return slack_code(err) in GONE
