"""Every sentence the bot says when it cannot answer: one mapping, no raw exception text.

Engine errors and Slack-side failures become short, friendly lines; the details go to the
log only.
"""

from __future__ import annotations

from engine import EngineDead, EngineError, EngineOverloaded, EngineShutdown, PromptTooLong

BUSY = (
    "I'm answering a lot of questions right now and can't take this one. "
    "Please try again in a minute."
)
GENERIC = "Sorry, something went wrong on my side and I couldn't answer. Please try again."
TIMED_OUT = "Sorry, that took me too long. Please try again or ask something shorter."
EMPTY_ANSWER = "Sorry, I couldn't come up with an answer to that."
NOT_ALLOWED = "Deskhand isn't enabled here. Ask an admin to add this channel."
USAGE = (
    "Ask me anything: `{command} how do I claim my warranty?` · Mention me in a channel "
    "(`@Deskhand …`) or send me a direct message; I answer in a thread and keep the "
    "thread as context."
)
EMPTY_QUESTION = "What would you like to know? Ask me a question after the mention."
RESTARTED = "Sorry, I restarted before I could answer — please ask again."
CUT_SHORT_LENGTH = "Cut short: I reached my length limit. Ask me to go on for the rest."
HANDED_OVER = "_I'm restarting; I'll finish this answer in a moment…_"


def too_many_waiting(count: int) -> str:
    return (
        f"You already have {count} question{'s' if count != 1 else ''} waiting for an answer. "
        "Please ask this again once those are answered."
    )


USER_MESSAGES: dict[type[EngineError], str] = {
    EngineOverloaded: BUSY,
    PromptTooLong: "That is more text than I can read at once. Please send just the part that "
    "matters.",
    EngineDead: "Sorry, my language model stopped working. An admin needs to restart me.",
    EngineShutdown: "I'm restarting right now. Please ask again in a moment.",
}


def user_message_for(err: EngineError) -> str:
    return USER_MESSAGES.get(type(err), GENERIC)


def too_long(length: int, limit: int) -> str:
    return (
        f"That question is {length:,} characters long; I can take up to {limit:,}. "
        "Please shorten it."
    )


def too_many_tokens(tokens: int, room: int, window: int, limit: int) -> str:
    return (
        f"That message is {tokens:,} tokens long. My model reads {window:,} tokens at a time, "
        f"which leaves room for about {room:,} of yours beside my instructions and the answer; "
        f"I can leave out the middle of a message up to {limit:,} tokens, but not more. "
        "Please paste just the part that matters (the error and a few lines around it)."
    )


def queued(position: int) -> str:
    return f"waiting in line (#{position})…"
