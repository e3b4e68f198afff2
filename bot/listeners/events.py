"""Event listeners: `app_mention` and `message` (channels, private channels, DMs).

They run on Bolt's listener threads after the ack has gone out, decide quickly whether the
message deserves an answer (routing, exactly-once claim, allowlists, thread membership for
follow-ups) and hand accepted questions to the generation pool. They never generate.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import errors
from bot.conversation import clean_text
from bot.jobs import AnswerJob
from bot.pipeline import answer_question, post_notice
from bot.routing import bot_is_in_thread, is_allowed, route_event
from bot.services import BotServices
from bot.types import Question

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
    event_key = ("event", question.event_id) if question.event_id else None
    if not bot.seen.claim(event_key, (question.channel_id, question.ts)):
        logger.debug("already handled %s/%s", question.channel_id, question.ts)
        return
    settings = bot.settings
    if not is_allowed(
        question, allowed_channels=settings.allowed_channels, allowed_users=settings.allowed_users
    ):
        if question.kind != "followup":
            _tell_privately(bot, question, errors.NOT_ALLOWED)
        return
    prefetched: list[dict[str, Any]] | None = None
    if question.reply_thread_ts == question.ts:
        prefetched = [dict(event)]  # a new thread: the message itself is the conversation
    elif route.needs_thread_check:
        assert question.thread_ts is not None
        prefetched = bot.reader.thread(question.channel_id, question.thread_ts)
        if not bot_is_in_thread(prefetched, bot.identity):
            return
    job = AnswerJob(question, prefetched=prefetched)
    length = len(clean_text(question.text, bot_user_id=bot.identity.user_id, names={}))
    if length > settings.max_question_chars:
        post_notice(job, bot, errors.too_long(length, settings.max_question_chars), "too_long")
        return
    # cost branch: daily budgets, checked at admission (bot/budgets.py).
    over_budget = bot.budgets.refusal(question.user_id, question.channel_id)
    if over_budget is not None:
        post_notice(job, bot, over_budget, "budget")
        return
    start_answer(job, bot)


def start_answer(job: AnswerJob, bot: BotServices) -> None:
    """Hand the job to the generation pool, or say "busy" when every slot is taken."""
    if not bot.pool.try_start(job, partial(answer_question, bot=bot)):
        logger.warning(
            "answer pool full (%d): busy reply to %s/%s",
            bot.pool.capacity,
            job.question.channel_id,
            job.question.ts,
        )
        post_notice(job, bot, errors.BUSY, "busy")


def ack_other_event() -> None:
    """Any other subscribed event: acknowledged so Slack does not retry it."""


def _tell_privately(bot: BotServices, question: Question, text: str) -> None:
    try:
        bot.client.chat_postEphemeral(
            channel=question.channel_id,
            user=question.user_id,
            text=text,
            thread_ts=question.thread_ts,
        )
    except SlackApiError as err:
        logger.info("could not post an ephemeral notice: %s", err.response.get("error"))
