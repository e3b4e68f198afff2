"""Event listeners: `app_mention` and `message` (channels, private channels, DMs).

They run on Bolt's listener threads after the ack has gone out and stay quick: routing, then
admission (the exactly-once claim in the store, allowlists, limits, a pool slot), then the
refusal if there is one. No Slack reads here (a follow-up's thread is read by its job) and
never generation.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.answer.admission import Refusal, admit
from bot.answer.jobs import AnswerJob
from bot.answer.pipeline import post_notice
from bot.answer.routing import route_event
from bot.services import BotServices

logger = logging.getLogger(__name__)


def handle_message_event(event: dict[str, Any], body: dict[str, Any], *, bot: BotServices) -> None:
    """Answer a mention, a DM or a follow-up in one of our threads; ignore everything else."""
    route = route_event(
        event,
        bot=bot.identity,
        event_id=body.get("event_id"),
        team_id=body.get("team_id"),
        thread_followups=bot.settings.thread_followups,
    )
    question = route.question
    if question is None:
        logger.debug("ignored %s event: %s", event.get("type"), route.reason)
        return
    new_thread = question.reply_thread_ts == question.ts
    job = AnswerJob(
        question,
        prefetched=[dict(event)] if new_thread else None,  # the message is the conversation
        needs_thread_check=route.needs_thread_check,
    )
    refusal = admit(job, bot)
    if refusal is not None:
        tell(job, bot, refusal)


def tell(job: AnswerJob, bot: BotServices, refusal: Refusal) -> None:
    """Deliver a refusal: privately (not allowed), in the thread (busy, too long), or not."""
    if refusal.silent:
        return
    if not refusal.private:
        post_notice(job, bot, refusal.text, refusal.kind)
        return
    question = job.question
    try:
        bot.client.chat_postEphemeral(
            channel=question.channel_id,
            user=question.user_id,
            text=refusal.text,
            thread_ts=question.thread_ts,
        )
    except SlackApiError as err:
        logger.info("could not post an ephemeral notice: %s", err.response.get("error"))


def ack_other_event() -> None:
    """Any other subscribed event: acknowledged so Slack does not retry it."""
