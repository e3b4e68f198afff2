"""A slash command's question, made visible before its answer: posted for everyone in the
channel (once, also when the job is resumed) so the answer has a thread to go in, or, when
the bot cannot post there, switched to a private answer through the response_url.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.answer.jobs import AnswerJob
from bot.services import BotServices
from bot.slack.blocks import question_metadata
from bot.slack.formatting import sanitize

logger = logging.getLogger(__name__)

ACK_WAIT_S = 3.0  # Slack waits this long for an ack


def post_question(job: AnswerJob, bot: BotServices) -> None:
    """In a channel: post the question for everyone (once, also when resumed), so that it is
    answered in its thread."""
    job.acked.wait(ACK_WAIT_S)  # the ack's private "Thinking…" comes before the answer
    if not job.ephemeral and not job.question.ts:
        question = job.question
        name = bot.reader.users.name(question.user_id)
        try:
            bot.pacer.wait(question.channel_id)
            posted = bot.client.chat_postMessage(
                channel=question.channel_id,
                markdown_text=f"**{sanitize(name)}** asked: {sanitize(question.text)}",
                metadata=question_metadata(question.user_id),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            logger.info(
                "cannot post in %s (%s): answering privately",
                question.channel_id,
                err.response.get("error"),
            )
            job.ephemeral = True
            _record_payload(job, bot)
        else:
            ts = str(posted["ts"])
            job.question = replace(question, ts=ts, thread_ts=ts)
            job.prefetched = [{"user": question.user_id, "text": question.text, "ts": ts}]
            _record_payload(job, bot, ts)


def _record_payload(job: AnswerJob, bot: BotServices, ts: str | None = None) -> None:
    """What a resumed job needs: the posted question's ts, or that it goes privately."""
    try:
        if ts is None:
            bot.jobs.set_payload(job.id, job.to_payload())
        else:
            bot.jobs.set_question(job.id, ts, job.to_payload())
    except SQLAlchemyError:
        logger.exception("could not record the question of job %s", job.id)
