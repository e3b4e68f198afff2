"""The slash command (`/ask` by default): acked at once, answered as a new thread in the
channel, or privately through the response_url when so configured (or when the bot cannot
post in that channel), with a "Share to channel" button.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

from bot import errors
from bot.answer.admission import admit
from bot.answer.jobs import AnswerJob
from bot.services import BotServices, channel_modes_of
from bot.types import Question
from bot.usage.report import usage_reply_for

logger = logging.getLogger(__name__)

HELP_WORDS = frozenset({"", "help", "?", "-h", "--help"})
THINKING_ACK = ":hourglass_flowing_sand: Thinking about your question…"
USAGE_WORD = "usage"
CONFIG_WORD = "config"
MODE_MEANINGS = {
    "kb": "answers from the documents or hands off",
    "assistant": "a general assistant with the thread as context",
    "auto": "the documents when a question is about them, else the assistant",
}


def handle_ask_command(ack: Ack, command: dict[str, Any], *, bot: BotServices) -> None:
    settings = bot.settings
    text = str(command.get("text") or "").strip()
    if text.lower() in HELP_WORDS:
        ack(text=errors.USAGE.format(command=settings.slash_command))
        return
    if text.lower() == USAGE_WORD:  # `/ask usage`, private to the asker
        ack(text=usage_reply(bot, str(command["user_id"])))
        return
    if text.lower() == CONFIG_WORD:  # `/ask config`, admins, private
        ack(text=config_reply(bot, str(command["user_id"]), str(command["channel_id"])))
        return
    channel_id = str(command["channel_id"])
    question = Question(
        kind="command",
        channel_id=channel_id,
        user_id=str(command["user_id"]),
        team_id=str(command.get("team_id") or bot.identity.team_id),
        ts="",
        text=text,
        is_dm=channel_id.startswith("D"),
    )
    ephemeral = settings.slash_ephemeral
    job = AnswerJob(
        question,
        response_url=str(command.get("response_url") or ""),
        ephemeral=ephemeral,
        ack_shown=ephemeral,
    )
    trigger_id = str(command.get("trigger_id") or "")
    bot.acks.watch(trigger_id, job.acked)  # before the job can start
    refusal = admit(job, bot)
    if refusal is not None:
        ack(text=refusal.text) if refusal.text else ack()
        return
    if ephemeral:
        ack(text=THINKING_ACK)
    else:
        ack()
    bot.acks.acked(trigger_id, job.acked)


def config_reply(bot: BotServices, user_id: str, channel_id: str) -> str:
    """`/ask config`: this channel's answer mode, and where an admin changes it."""
    if user_id not in bot.settings.admin_users:
        return "Only Deskhand's admins (ADMIN_USERS) can see and change its configuration."
    modes = channel_modes_of(bot.answerer)
    if modes is None:
        return (
            "No knowledge base is loaded (KB_DIR), so every question goes to the general "
            "assistant; answer modes apply once one is."
        )
    try:
        mode = modes.get(channel_id, is_dm=channel_id.startswith("D"))
    except Exception:
        logger.exception("could not read the mode of %s", channel_id)
        return "Sorry, I couldn't read this channel's mode just now. Please try again."
    where = "Direct messages answer" if channel_id.startswith("D") else "This channel answers"
    return (
        f"{where} in *{mode}* mode ({MODE_MEANINGS[mode]}). To change it, open Deskhand's "
        "*Home* tab: admins see an *Answer modes* section there."
    )


def usage_reply(bot: BotServices, user_id: str) -> str:
    try:
        return usage_reply_for(bot.meter.log, bot.settings, bot.budgets, user_id=user_id)
    except Exception:
        logger.exception("could not read usage for %s", user_id)
        return errors.GENERIC
