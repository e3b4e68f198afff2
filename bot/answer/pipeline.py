"""The hot path: one accepted question becomes one answer in Slack.

Runs on a generation-pool thread and reads top to bottom: show that we are working, read the
conversation, let the answerer plan the prompt, stream the engine's text into the reply,
write the ending `final_reply` chose. The job's row in the store follows along (answering,
the reply's ts as soon as Slack gives it, answered / failed). Every failure ends in a short
sentence in Slack and a log line, never in silence; a shutdown leaves the job for a successor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError

from bot import errors
from bot.answer.answerers import Plan, route_of
from bot.answer.command import post_question
from bot.answer.ending import final_reply
from bot.answer.jobs import AnswerJob
from bot.answer.routing import bot_is_in_thread
from bot.services import BotServices
from bot.slack.api_errors import is_gone, slack_code
from bot.slack.client import retry_handlers
from bot.slack.ephemeral_reply import EphemeralReply, SharedAnswer
from bot.slack.thread_reply import ReplyTarget, ThreadReply
from engine import Completion, EngineError, EngineOverloaded, SamplingParams
from store.jobs import JobState

logger = logging.getLogger(__name__)

Reply = ThreadReply | EphemeralReply


def run(job: AnswerJob, bot: BotServices) -> None:
    """The one way a job is answered, whatever brought it: a mention, a DM, a follow-up, a
    slash command, or a job recovered from a dead replica. A slash command's question is made
    visible first (`command.post_question`); then every job takes the same steps."""
    if job.question.kind == "command":
        post_question(job, bot)
    answer_question(job, bot)


def answer_question(job: AnswerJob, bot: BotServices) -> None:
    """Answer `job.question` in Slack; returns when the answer is written (or refused)."""
    question = job.question
    progress = Progress(job, bot)
    reply = open_reply(job, bot)
    watch = bot.ops.answer_started(job)  # metrics, the answer's span, the log context
    started = time.monotonic()
    completion: Completion | None = None
    plan: Plan | None = None
    outcome, state = "error", JobState.FAILED
    try:
        with bot.start_gate:  # steps 1-3 are CPU work: a few answers at a time
            progress.mark(JobState.ANSWERING)
            if not is_for_us(job, bot):
                outcome, state = "not in thread", JobState.IGNORED
                return
            # 1) Show that we are working (status, or a placeholder).
            reply.show_working()
            progress.saw(reply)
            # 2) The conversation the question belongs to, as chat turns.
            conversation = bot.reader.read(question, job.prefetched)
            if not conversation.question.strip() and len(conversation.turns) <= 1:
                reply.notice(errors.EMPTY_QUESTION, "usage")
                outcome, state = "empty", JobState.ANSWERED
                return
            # 3) The answerer's plan: the prompt (trimmed to the window) or nothing to generate.
            watch.begin("retrieval")
            plan = bot.answerer.prepare(question, conversation)
            watch.end("retrieval", route=route_of(bot.answerer, plan))
        # 4) Generate, streaming into the reply.
        if plan.messages and not job.stop_requested:
            watch.begin("generation")
            completion = generate(job, plan, reply, bot, progress)
            watch.end("generation", completion=completion)
        if job.stopped_for_shutdown:
            hand_over(reply, progress)
            outcome, state = "handed over", JobState.ANSWERING
            return
        # 5) The ending: an answer with its footer, or a short apology.
        ending = final_reply(bot.answerer, question, plan, completion, stopped=job.stop_requested)
        outcome = ending.outcome
        if ending.reply is None:
            reply.notice(ending.notice, ending.notice_kind)
        else:
            share_id = None
            if job.ephemeral:
                share_id = bot.shares.put(
                    SharedAnswer(question.text, question.user_id, question.channel_id, ending.reply)
                )
            reply.finish(
                ending.reply,
                feedback=ending.feedback,
                handoff=bot.handoff_enabled,
                share_id=share_id,
            )
            state = JobState.ANSWERED
    except EngineOverloaded:
        logger.warning(
            "engine full: told %s in %s it is busy", question.user_id, question.channel_id
        )
        _safe_notice(reply, errors.BUSY, "busy")
        outcome, state = "busy", JobState.REFUSED
    except EngineError as err:
        logger.error("engine error for %s/%s: %s", question.channel_id, question.ts, err)
        _safe_notice(reply, errors.user_message_for(err), "error")
    except Exception as err:
        if is_gone(err):  # deleted, archived, the bot removed: a fact, not a bug
            logger.warning(
                "answer to %s/%s abandoned: %s", question.channel_id, question.ts, slack_code(err)
            )
        else:
            logger.exception("answer failed (channel=%s, ts=%s)", question.channel_id, question.ts)
        _safe_notice(reply, errors.GENERIC, "error")
    finally:
        progress.saw(reply)
        if state is not JobState.ANSWERING:
            progress.mark(state, outcome)
        elapsed_s = time.monotonic() - started
        _log_finished(job, outcome, completion, elapsed_s)
        route = route_of(bot.answerer, plan)
        watch.finish(outcome=outcome, route=route, completion=completion, elapsed_s=elapsed_s)
        # One usage row per answer that ends (usage/meter.py); a job
        # handed over at shutdown is metered by the replica that answers it.
        if state is not JobState.ANSWERING:
            bot.meter.record(
                job,
                completion,
                outcome=outcome,
                route=route_of(bot.answerer, plan),
                answer_s=elapsed_s,
            )


def is_for_us(job: AnswerJob, bot: BotServices) -> bool:
    """False for a follow-up in a thread the bot is not part of (read here, not on the
    listener thread; the thread read becomes the conversation)."""
    question = job.question
    if not job.needs_thread_check or job.prefetched is not None:
        return True
    assert question.thread_ts is not None
    job.prefetched = bot.reader.thread(question.channel_id, question.thread_ts)
    return bot_is_in_thread(job.prefetched, bot.identity)


def generate(
    job: AnswerJob, plan: Plan, reply: Reply, bot: BotServices, progress: Progress
) -> Completion:
    """Submit to the engine and stream its text into the reply; returns the Completion."""
    settings = bot.settings
    params = SamplingParams(
        max_new_tokens=plan.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        repetition_penalty=settings.repetition_penalty,
        timeout_s=settings.reply_timeout_s,
        avoid_text=plan.avoid,
    )
    handle = bot.engine.submit(plan.messages, params)  # raises at once when it cannot queue
    job.attach(handle)
    try:
        position = handle.queue_position
        if position and bot.engine.stats().running >= bot.engine.config.max_running:
            reply.show_working(position)  # the engine is full: say where we are in line
        written = shown = ""
        for delta in handle:
            written += delta
            if plan.settled is not None:  # only what the final answer keeps
                settled = plan.settled(written)
                if len(settled) > len(shown) and settled.startswith(shown):
                    reply.append(settled[len(shown) :])
                    shown = settled
            elif plan.stream:
                reply.append(delta)
            progress.saw(reply)
    except BaseException:
        handle.cancel()  # free the engine slot whatever went wrong on the Slack side
        raise
    return handle.result()


def hand_over(reply: Reply, progress: Progress) -> None:
    """This process is stopping mid-answer: leave the message for a successor to finish."""
    if isinstance(reply, ThreadReply):
        try:
            reply.hand_over(errors.HANDED_OVER)
        except Exception:
            logger.exception("could not mark the answer as handed over")
    progress.saw(reply)


class Progress:
    """The job's row follows the answer; a store error is logged, never shown to the user."""

    def __init__(self, job: AnswerJob, bot: BotServices) -> None:
        self.job = job
        self.jobs = bot.jobs
        self._recorded: list[str] = list(job.reply_ts)

    def mark(self, state: JobState, outcome: str | None = None) -> None:
        self._safely(lambda: self.jobs.mark(self.job.id, state, outcome))

    def saw(self, reply: Reply) -> None:
        """Record the reply's message ts as soon as there is a new one."""
        message_ts = list(getattr(reply, "message_ts", []))
        if message_ts and message_ts != self._recorded:
            self._recorded = message_ts
            self._safely(lambda: self.jobs.set_reply(self.job.id, message_ts))

    def _safely(self, write: Callable[[], None]) -> None:
        try:
            write()
        except SQLAlchemyError:
            logger.exception("could not record the progress of job %s", self.job.id)


def open_reply(job: AnswerJob, bot: BotServices) -> Reply:
    question, settings = job.question, bot.settings
    if job.ephemeral and job.response_url:
        webhook = WebhookClient(job.response_url, retry_handlers=retry_handlers())
        return EphemeralReply(webhook, question=question.text, has_message=job.ack_shown)
    target = ReplyTarget(
        channel_id=question.channel_id,
        thread_ts=question.reply_thread_ts,
        user_id=question.user_id,
        team_id=question.team_id,
        source_ts=question.ts,
        job_id=job.id,
    )
    reply = ThreadReply(
        bot.client,
        target,
        bot.pacer,
        prefer_native=settings.stream_mode != "update",
        update_interval_s=settings.stream_update_interval_s,
        stream_max_age_s=settings.stream_max_age_s,
        on_user_stop=job.stop,
    )
    if job.reply_ts:
        reply.adopt(job.reply_ts)  # a resumed job: replace the half-written answer in place
    return reply


def post_notice(job: AnswerJob, bot: BotServices, text: str, kind: str) -> None:
    """A one-line reply to a question that will not be answered (busy, too long)."""
    reply = open_reply(job, bot)
    _safe_notice(reply, text, kind)
    Progress(job, bot).saw(reply)


def _safe_notice(reply: Reply, text: str, kind: str) -> None:
    try:
        reply.notice(text, kind)
    except Exception as err:
        if is_gone(err):
            logger.info("could not post the %s notice either: %s", kind, slack_code(err))
        else:
            logger.exception("could not post the %s notice either", kind)


def _log_finished(
    job: AnswerJob, outcome: str, completion: Completion | None, elapsed_s: float
) -> None:
    q = job.question
    if completion is None:
        logger.info("%s %s/%s: %s in %.2f s", q.kind, q.channel_id, q.ts, outcome, elapsed_s)
        return
    logger.info(
        "%s %s/%s: %s, %d+%d tokens, queue %.2f s, first token %s, %.2f s in all",
        q.kind,
        q.channel_id,
        q.ts,
        outcome,
        completion.prompt_tokens,
        completion.output_tokens,
        completion.queue_wait_s,
        f"{completion.ttft_s:.2f} s" if completion.ttft_s is not None else "-",
        elapsed_s,
    )
