"""The hot path: one accepted question becomes one answer in Slack.

Runs on a generation-pool thread and reads top to bottom: show that we are working, read the
conversation, let the answerer plan the prompt, stream the engine's text into the reply,
finalize. Every failure ends in a short sentence in Slack and a log line, never in silence.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from slack_sdk.webhook import WebhookClient

from bot import errors
from bot.answerers import Plan
from bot.ephemeral import EphemeralReply, SharedAnswer
from bot.jobs import AnswerJob
from bot.replying import ReplyTarget, ThreadReply
from bot.services import BotServices
from bot.slack_client import retry_handlers
from bot.types import FinalReply
from engine import Completion, EngineError, EngineOverloaded, FinishReason, SamplingParams

logger = logging.getLogger(__name__)

Reply = ThreadReply | EphemeralReply


def answer_question(job: AnswerJob, bot: BotServices) -> None:
    """Answer `job.question` in Slack; returns when the answer is written (or refused)."""
    question = job.question
    reply = open_reply(job, bot)
    started = time.monotonic()
    completion: Completion | None = None
    outcome = "error"
    try:
        with bot.start_gate:  # steps 1-3 are CPU work: a few answers at a time
            # 1) Show that we are working (status, or a placeholder).
            reply.show_working()
            # 2) The conversation the question belongs to, as chat turns.
            conversation = bot.reader.read(question, job.prefetched)
            if not conversation.question.strip() and len(conversation.turns) <= 1:
                reply.notice(errors.EMPTY_QUESTION, "usage")
                outcome = "empty"
                return
            # 3) The answerer's plan: the prompt (trimmed to the window) or nothing to generate.
            plan = bot.answerer.prepare(question, conversation)
        # 4) Generate, streaming into the reply.
        if plan.messages and not job.stop_requested:
            completion = generate(job, plan, reply, bot)
        if reply.stopped_by_user:
            outcome = "stopped by user"
            return
        # 5) Finalize: the answerer composes the reply; notes and buttons go in the footer.
        final = with_notes(bot.answerer.finalize(question, plan, completion), plan, completion, job)
        if final is None:
            reply.notice(failure_text(completion), "error")
            outcome = completion.finish_reason.value if completion else "error"
            return
        share_id = None
        if job.ephemeral:
            share_id = bot.shares.put(
                SharedAnswer(question.text, question.user_id, question.channel_id, final)
            )
        is_answer = not job.stop_requested and (
            completion is None
            or completion.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
        )
        reply.finish(final, feedback=is_answer, handoff=bot.handoff_enabled, share_id=share_id)
        outcome = completion.finish_reason.value if completion else "answered"
    except EngineOverloaded:
        logger.warning(
            "engine full: told %s in %s it is busy", question.user_id, question.channel_id
        )
        _safe_notice(reply, errors.BUSY, "busy")
        outcome = "busy"
    except EngineError as err:
        logger.error("engine error for %s/%s: %s", question.channel_id, question.ts, err)
        _safe_notice(reply, errors.user_message_for(err), "error")
    except Exception:
        logger.exception("answer failed (channel=%s, ts=%s)", question.channel_id, question.ts)
        _safe_notice(reply, errors.GENERIC, "error")
    finally:
        elapsed_s = time.monotonic() - started
        _log_finished(job, outcome, completion, elapsed_s)
        # cost branch: one usage row per answer (the coordinator may move this hook).
        bot.meter.record(
            job, completion, outcome=outcome, route=bot.answerer.name, answer_s=elapsed_s
        )


def generate(job: AnswerJob, plan: Plan, reply: Reply, bot: BotServices) -> Completion:
    """Submit to the engine and stream its text into the reply; returns the Completion."""
    settings = bot.settings
    params = SamplingParams(
        max_new_tokens=plan.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        timeout_s=settings.reply_timeout_s,
    )
    handle = bot.engine.submit(plan.messages, params)  # raises at once when it cannot queue
    job.attach(handle)
    try:
        position = handle.queue_position
        if position and bot.engine.stats().running >= bot.engine.config.max_running:
            reply.show_working(position)  # the engine is full: say where we are in line
        written = ""
        for delta in handle:
            written += delta
            if plan.draft is not None:
                reply.show_draft(plan.draft(written))
            elif plan.stream:
                reply.append(delta)
            if reply.stopped_by_user:
                handle.cancel()
    except BaseException:
        handle.cancel()  # free the engine slot whatever went wrong on the Slack side
        raise
    return handle.result()


def with_notes(
    final: FinalReply, plan: Plan, completion: Completion | None, job: AnswerJob
) -> FinalReply | None:
    """The answer with footer notes (stopped, timed out, trimmed), or None when there is
    nothing to show but an apology."""
    notes = list(final.notes)
    text = final.text
    reason = completion.finish_reason if completion else None
    stopped_early = completion is None and job.stop_requested and bool(plan.messages)
    if reason is FinishReason.CANCELLED or stopped_early:
        notes.append("Stopped.")
        text = text or "_Stopped before I wrote anything._"
    elif reason in (FinishReason.TIMEOUT, FinishReason.ERROR):
        if not text.strip():
            return None
        notes.append(
            "Cut short: "
            + ("it took too long." if reason is FinishReason.TIMEOUT else "something went wrong.")
        )
    elif not text.strip():
        text = errors.EMPTY_ANSWER
    if plan.omitted_turns:
        count = plan.omitted_turns
        notes.append(
            f"{count} earlier message{'s' if count != 1 else ''} left out "
            "to fit the model's context."
        )
    return replace(final, text=text, notes=notes)


def failure_text(completion: Completion | None) -> str:
    if completion and completion.finish_reason is FinishReason.TIMEOUT:
        return errors.TIMED_OUT
    return errors.GENERIC


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
    return ThreadReply(
        bot.client,
        target,
        bot.pacer,
        prefer_native=settings.stream_mode != "update",
        update_interval_s=settings.stream_update_interval_s,
        stream_max_age_s=settings.stream_max_age_s,
    )


def post_notice(job: AnswerJob, bot: BotServices, text: str, kind: str) -> None:
    """A one-line reply to a question that will not be answered (busy, too long)."""
    _safe_notice(open_reply(job, bot), text, kind)


def _safe_notice(reply: Reply, text: str, kind: str) -> None:
    try:
        reply.notice(text, kind)
    except Exception:
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
