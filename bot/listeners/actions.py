"""Button clicks: Stop (cancel generation), 👍/👎 (feedback), "Ask a human" (hand-off) and
"Share to channel" (publish a private answer). Each acks first; the work is short Slack I/O.

Stop works for the asker and for ADMIN_USERS only, on whichever replica the click lands (one
not writing the answer leaves the request in the store for the one that is); anyone may rate
an answer or ask a human (a bystander who sees the bot is stuck can call for help). A hand-off
is remembered in the thread itself (a notice with metadata), so a second click after a restart
does not re-ping.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.answer.conversation import asked_text, clean_text
from bot.services import BotServices
from bot.slack.blocks import NOTICE_EVENT, QUESTION_EVENT, mrkdwn_escape, notice_metadata
from bot.slack.formatting import sanitize
from bot.slack.thread_reply import ReplyTarget, ThreadReply
from store.jobs import OPEN_STATES

logger = logging.getLogger(__name__)

THANKS = "Thanks for the feedback!"
STOP_FAILED = "Sorry, I couldn't stop that answer just now. Please try again."
ALREADY_HANDED_OFF = "This question has already been passed to a human."
HANDOFF_KIND = "handoff"  # notice_metadata kind of the "I've asked … to help" reply


def handle_stop(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, *, bot: BotServices
) -> None:
    ack()
    job_id = str(action.get("value") or "")
    clicker = str((body.get("user") or {}).get("id") or "")
    job = bot.pool.get(job_id)  # None: another replica is writing it, or it has ended
    if job is not None:
        asker = job.question.user_id
    else:
        try:
            row = bot.jobs.get(job_id)
        except SQLAlchemyError:
            logger.exception("could not look up answer %s to stop it", job_id)
            respond(text=STOP_FAILED, response_type="ephemeral", replace_original=False)
            return
        if row is None or row.state not in OPEN_STATES:
            logger.info("stop for a finished answer (%s)", job_id)
            return
        asker = row.user_id
    if clicker != asker and clicker not in bot.settings.admin_users:
        logger.info("%s may not stop %s's answer %s", clicker, asker, job_id)
        respond(
            text=f"Only <@{asker}> can stop this answer.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    if job is not None:
        logger.info("%s stopped answer %s", clicker, job_id)
        job.stop()
        return
    try:  # another replica is writing it: it sees this within StopRelay.POLL_S
        asked = bot.jobs.request_stop(job_id, clicker)
    except SQLAlchemyError:
        logger.exception("could not pass the stop of answer %s on", job_id)
        respond(text=STOP_FAILED, response_type="ephemeral", replace_original=False)
        return
    logger.info("%s asked the replica writing answer %s to stop (%s)", clicker, job_id, asked)


def handle_feedback(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, *, bot: BotServices
) -> None:
    ack()
    vote_word, _, answer_ref = str(action.get("value") or "").partition(":")
    vote = 1 if vote_word == "up" else -1
    user_id = str((body.get("user") or {}).get("id") or "")
    stored = bot.answerer.record_feedback(answer_ref, vote, user_id)
    logger.info(
        "feedback %+d on answer %r (%s)", vote, answer_ref, "stored" if stored else "acknowledged"
    )
    respond(text=THANKS, response_type="ephemeral", replace_original=False)


def handle_handoff(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, *, bot: BotServices
) -> None:
    """Post the question and a link to the thread where a human will see it."""
    ack()
    settings = bot.settings
    channel_id = str((body.get("channel") or {}).get("id") or "")
    container = body.get("container") or {}
    thread_ts = container.get("thread_ts")  # None: an answer at the top level of a DM
    source_ts = str(action.get("value") or container.get("message_ts") or "")
    if not bot.handoff_enabled:
        respond(
            text="No human hand-off is configured here.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    messages = _thread_of(bot, channel_id, source_ts)
    if _handed_off(messages, source_ts) or not bot.handoffs.claim((channel_id, source_ts)):
        respond(text=ALREADY_HANDED_OFF, response_type="ephemeral", replace_original=False)
        return
    asker, question = _question_in(messages, source_ts, bot)
    client = bot.client
    mention = settings.handoff_mention.strip()
    if settings.escalation_channel:
        try:
            permalink = client.chat_getPermalink(channel=channel_id, message_ts=source_ts)[
                "permalink"
            ]
            lines = [
                f"{mention} " if mention else "",
                "*Question for a human* from "
                + (f"<@{asker}>" if asker else "someone")
                + f" in <#{channel_id}>:\n",
                f">{mrkdwn_escape(question)}\n" if question else "",
                f"<{permalink}|Open the thread>",
            ]
            bot.pacer.wait(settings.escalation_channel)
            client.chat_postMessage(
                channel=settings.escalation_channel, text="".join(lines), unfurl_links=False
            )
        except SlackApiError as err:
            logger.error(
                "escalation to %s failed: %s",
                settings.escalation_channel,
                err.response.get("error"),
            )
            respond(
                text="Sorry, I couldn't reach the support team. Please ask them directly.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
    who = mention or "a colleague"
    bot.pacer.wait(channel_id)
    client.chat_postMessage(
        channel=channel_id,
        thread_ts=thread_ts,
        text=f"I've asked {who} to help with this. They'll reply here.",
        metadata=notice_metadata(source_ts, HANDOFF_KIND),
    )
    logger.info("handed %s/%s to a human", channel_id, source_ts)


def handle_share(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, *, bot: BotServices
) -> None:
    """Post a privately shown answer in the channel: the question, then the answer in its
    thread; the private copy goes away."""
    ack()
    shared = bot.shares.take(str(action.get("value") or ""))
    if shared is None:
        respond(
            text="That answer has expired. Ask again to share it.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    name = bot.reader.users.name(shared.user_id)
    try:
        bot.pacer.wait(shared.channel_id)
        posted = bot.client.chat_postMessage(
            channel=shared.channel_id,
            unfurl_links=False,
            markdown_text=f"**{sanitize(name)}** asked: {sanitize(shared.question)}",
        )
    except SlackApiError as err:
        logger.info("cannot share into %s: %s", shared.channel_id, err.response.get("error"))
        bot.shares.put(shared)
        respond(
            text="I can't post in this conversation. Invite me to the channel first.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    ts = str(posted["ts"])
    target = ReplyTarget(
        channel_id=shared.channel_id,
        thread_ts=ts,
        user_id=shared.user_id,
        team_id=bot.identity.team_id,
        source_ts=ts,
    )
    reply = ThreadReply(bot.client, target, bot.pacer, prefer_native=False, use_status=False)
    reply.finish(shared.final, feedback=True, handoff=False)
    respond(delete_original=True)


def _thread_of(bot: BotServices, channel_id: str, source_ts: str) -> list[dict[str, Any]]:
    """The thread of the message at source_ts (or that message alone); [] when unreadable."""
    try:
        return bot.reader.thread(channel_id, source_ts)
    except SlackApiError as err:
        logger.info("could not read %s/%s: %s", channel_id, source_ts, err.response.get("error"))
        return []


def _handed_off(messages: list[dict[str, Any]], source_ts: str) -> bool:
    """Whether the thread already holds our hand-off notice for this question."""
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if (
            metadata.get("event_type") == NOTICE_EVENT
            and payload.get("kind") == HANDOFF_KIND
            and payload.get("source_ts") == source_ts
        ):
            return True
    return False


def _question_in(
    messages: list[dict[str, Any]], source_ts: str, bot: BotServices
) -> tuple[str, str]:
    """(asker id, question text) of the message at source_ts."""
    for message in messages:
        if message.get("ts") != source_ts:
            continue
        text = clean_text(
            str(message.get("text") or ""), bot_user_id=bot.identity.user_id, names={}
        )
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == QUESTION_EVENT:  # a /ask question we posted
            return str((metadata.get("event_payload") or {}).get("user_id", "")), asked_text(text)
        return str(message.get("user") or ""), text
    return "", ""
