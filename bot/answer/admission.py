"""Admission: the one decision whether a question is answered, for events and commands alike.

In order: the exactly-once claim in the store (the job is recorded `received` as it is
accepted), the allowlists, the length limit, the per-person cap on questions in flight, the
daily budgets (usage/budgets.py), and a slot in the generation pool. A refusal is recorded on
the job and returned for the caller to deliver (a thread notice, a private message, or the
slash command's ack).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot import errors
from bot.answer.conversation import clean_text
from bot.answer.jobs import AnswerJob
from bot.answer.pipeline import run
from bot.answer.routing import bot_is_in_thread, is_allowed
from bot.services import BotServices
from store.jobs import JobState

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    kind: str  # duplicate | ignored | not_allowed | too_long | user_busy | budget | busy
    text: str = ""  # what to tell the asker ("" = nothing)
    private: bool = False  # only the asker should see it

    @property
    def silent(self) -> bool:
        return not self.text


DUPLICATE = Refusal("duplicate")
IGNORED = Refusal("ignored")


def admit(job: AnswerJob, bot: BotServices) -> Refusal | None:
    """Start the job on the pool (`pipeline.run`) and return None, or say why not."""
    question = job.question
    if not claim(job, bot):
        logger.debug("already handled %s/%s", question.channel_id, question.ts)
        return DUPLICATE
    refusal = _refusal(job, bot)
    if refusal is None and not bot.pool.try_start(job, partial(run, bot=bot)):
        logger.warning(
            "answer pool full (%d): busy reply to %s in %s",
            bot.pool.capacity,
            question.user_id,
            question.channel_id,
        )
        refusal = Refusal("busy", errors.BUSY)
    if refusal is None:
        return None
    if not refusal.silent and job.needs_thread_check and not _bot_in_thread(job, bot):
        refusal = IGNORED  # a reply in someone else's thread: not ours to refuse
    if refusal.kind == "not_allowed" and question.kind == "followup":
        refusal = IGNORED
    _record(bot, job, JobState.IGNORED if refusal is IGNORED else JobState.REFUSED, refusal.kind)
    return refusal


def claim(job: AnswerJob, bot: BotServices) -> bool:
    """Record the question (`received`, owned by us); False if anyone claimed it before. A
    store that cannot be written is logged and the question answered anyway (not durably)."""
    question = job.question
    try:
        with bot.claim_gate:
            return bot.jobs.claim(
                job.id,
                channel=question.channel_id,
                ts=question.ts or None,
                thread_ts=question.thread_ts,
                user_id=question.user_id,
                kind=question.kind,
                payload=job.to_payload(),
                event_id=question.event_id,
            )
    except SQLAlchemyError:
        logger.exception(
            "could not record %s/%s: answering it anyway", question.channel_id, question.ts
        )
        return True


def _refusal(job: AnswerJob, bot: BotServices) -> Refusal | None:
    question, settings = job.question, bot.settings
    if not is_allowed(
        question, allowed_channels=settings.allowed_channels, allowed_users=settings.allowed_users
    ):
        return Refusal("not_allowed", errors.NOT_ALLOWED, private=True)
    length = len(clean_text(question.text, bot_user_id=bot.identity.user_id, names={}))
    if length > settings.max_question_chars:
        return Refusal("too_long", errors.too_long(length, settings.max_question_chars))
    cap = settings.user_max_in_flight
    if cap:
        waiting = _open_for_user(bot, question.user_id) - 1  # this one is open already
        if waiting >= cap:
            logger.info(
                "%s has %d questions in flight: refusing another", question.user_id, waiting
            )
            return Refusal("user_busy", errors.too_many_waiting(waiting))
    # Daily budgets per person and per channel (usage/budgets.py).
    try:
        over_budget = bot.budgets.refusal(question.user_id, question.channel_id)
    except SQLAlchemyError:
        logger.exception("could not read %s's usage for the budget check", question.user_id)
        over_budget = None
    if over_budget is not None:
        return Refusal("budget", over_budget)
    return None


def _open_for_user(bot: BotServices, user_id: str) -> int:
    try:
        return bot.jobs.open_for_user(user_id)
    except SQLAlchemyError:
        logger.exception("could not count %s's questions in flight", user_id)
        return 0


def _bot_in_thread(job: AnswerJob, bot: BotServices) -> bool:
    question = job.question
    assert question.thread_ts is not None
    try:
        return bot_is_in_thread(
            bot.reader.thread(question.channel_id, question.thread_ts), bot.identity
        )
    except SlackApiError as err:
        logger.info("could not read thread %s: %s", question.thread_ts, err.response.get("error"))
        return False


def _record(bot: BotServices, job: AnswerJob, state: JobState, outcome: str) -> None:
    try:
        bot.jobs.mark(job.id, state, outcome)
    except SQLAlchemyError:
        logger.exception("could not record the end of job %s", job.id)
